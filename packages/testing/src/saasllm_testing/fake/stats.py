"""Counters a test reads to see what the gateway did upstream (``GET /stats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDictProxy


@dataclass(slots=True)
class FakeStats:
    """Counters behind ``GET /stats``; see the package docstring for their meaning."""

    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_disconnected: int = 0
    streams_aborted: int = 0
    abandoned: int = 0
    open_streams: int = 0
    requests_by_model: dict[str, int] = field(default_factory=dict)
    last_request: object = None
    last_headers: CIMultiDictProxy[str] | None = None

    def record_request(self, model: str, body: object, headers: CIMultiDictProxy[str]) -> int:
        """Count a chat call and return its number (1, 2, ...), which names its ids."""
        self.requests += 1
        self.requests_by_model[model] = self.requests_by_model.get(model, 0) + 1
        self.last_request = body
        self.last_headers = headers
        return self.requests

    def reset(self) -> None:
        """Zero the counters; ``open_streams`` is a live gauge and is kept."""
        self.requests = self.streams_started = self.streams_completed = 0
        self.streams_disconnected = self.streams_aborted = self.abandoned = 0
        self.requests_by_model = {}
        self.last_request = None
        self.last_headers = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "streams_started": self.streams_started,
            "streams_completed": self.streams_completed,
            "streams_disconnected": self.streams_disconnected,
            "streams_aborted": self.streams_aborted,
            "abandoned": self.abandoned,
            "open_streams": self.open_streams,
            "requests_by_model": dict(self.requests_by_model),
            "last_request": self.last_request,
            "last_headers": (
                {str(k): v for k, v in self.last_headers.items()}
                if self.last_headers is not None
                else None
            ),
        }


STATS_KEY: Final = web.AppKey("fake_stats", FakeStats)
