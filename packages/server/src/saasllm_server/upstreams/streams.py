"""What every upstream path hands back: a stream of ready-to-send SSE events, or a failure.

Both the raw relay and the litellm path produce the same thing, so the API layer
and the fallback loop never ask which one they are talking to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from saasllm_server.upstreams.router import Deployment

DONE_EVENT = b"data: [DONE]\n\n"


class UpstreamFailure(Exception):
    """An upstream failed: an HTTP error status, a broken connection or a timeout.

    ``status`` is the upstream's HTTP status, or 502 for a broken connection and
    504 for a timeout, so the fallback loop and the client mapping share one field.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Worth another deployment: overload, outage, timeout. A bad request is not."""
        return self.status in (408, 429) or self.status >= 500


@dataclass(slots=True)
class StreamStats:
    """Filled in while relaying; read once when the call is recorded."""

    usage: dict[str, Any] | None = None
    data_events: int = 0
    done: bool = False
    first_event_at: float | None = None
    error: UpstreamFailure | None = None


class UpstreamStream(Protocol):
    deployment: Deployment
    stats: StreamStats

    def events(self) -> AsyncIterator[list[bytes]]:
        """Each item holds the complete SSE events (``data: ...\\n\\n``) that one upstream read
        brought; ``[DONE]`` is not among them."""

    async def aclose(self) -> None: ...


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
