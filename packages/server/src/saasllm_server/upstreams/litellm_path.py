"""The translating path: providers whose wire format is not OpenAI's go through litellm.

litellm turns their streams into OpenAI-shaped chunks; each chunk is serialised
once. This path costs milliseconds per request (measured), so only deployments
that need translation take it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import litellm

from saasllm_server.upstreams.router import Deployment
from saasllm_server.upstreams.streams import StreamStats, UpstreamFailure, parse_retry_after

_PARAM_KEYS_NOT_FORWARDED = {"model", "input_cost_per_token", "output_cost_per_token"}


def _failure(deployment: Deployment, exc: Exception) -> UpstreamFailure:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, litellm.Timeout):
        status = 504
    if not isinstance(status, int) or status < 400:
        status = 502
    headers: dict[str, str] = {}
    response = getattr(exc, "response", None)
    raw_headers = getattr(response, "headers", None)
    if raw_headers is not None:
        headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
    message = str(getattr(exc, "message", exc))[:500]
    return UpstreamFailure(
        status,
        f"{deployment.provider} answered {status}: {message}",
        headers=headers,
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def _kwargs(deployment: Deployment, body: dict[str, Any]) -> dict[str, Any]:
    params = {
        k: v for k, v in deployment.litellm_params.items() if k not in _PARAM_KEYS_NOT_FORWARDED
    }
    request = {k: v for k, v in body.items() if k != "model"}
    return {**params, **request, "model": deployment.litellm_model, "num_retries": 0}


class LitellmPath:
    async def open_stream(
        self, deployment: Deployment, body: dict[str, Any], *, forward_usage: bool
    ) -> LitellmStream:
        try:
            iterator = await litellm.acompletion(**_kwargs(deployment, body))
        except Exception as exc:  # litellm's error tree has no common base but Exception
            raise _failure(deployment, exc) from exc
        return LitellmStream(deployment, iterator, forward_usage)

    async def complete(self, deployment: Deployment, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await litellm.acompletion(**_kwargs(deployment, body))
        except Exception as exc:
            raise _failure(deployment, exc) from exc
        dumped: dict[str, Any] = response.model_dump(exclude_none=True)
        return dumped


class LitellmStream:
    __slots__ = ("_iterator", "deployment", "forward_usage", "stats")

    def __init__(
        self, deployment: Deployment, iterator: AsyncIterator[Any], forward_usage: bool
    ) -> None:
        self.deployment = deployment
        self._iterator = iterator
        self.forward_usage = forward_usage
        self.stats = StreamStats()

    async def events(self) -> AsyncIterator[list[bytes]]:
        stats = self.stats
        try:
            async for chunk in self._iterator:
                if stats.first_event_at is None:
                    stats.first_event_at = time.perf_counter()
                stats.data_events += 1
                usage = getattr(chunk, "usage", None)
                if usage is not None:
                    stats.usage = {
                        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
                        "total_tokens": int(getattr(usage, "total_tokens", 0) or 0),
                    }
                    choices = getattr(chunk, "choices", None) or []
                    empty = all(not getattr(c, "delta", None) for c in choices)
                    if empty and not self.forward_usage:
                        continue
                yield [b"data: " + chunk.model_dump_json(exclude_none=True).encode() + b"\n\n"]
        except Exception as exc:
            stats.error = _failure(self.deployment, exc)
            raise stats.error from exc
        stats.done = True

    async def aclose(self) -> None:
        close = getattr(self._iterator, "aclose", None)
        if close is not None:
            # Closing a broken provider stream must not mask the call's real outcome.
            with contextlib.suppress(Exception):
                await close()
