"""Resumable streams: every event of a job-API stream is numbered and kept for a while,
so a client that lost its connection reconnects with ``Last-Event-ID`` and gets the
rest: no second upstream call, no second charge.

The log lives in process for now; a shared store for several replicas implements
the same ``ResumeStore`` protocol.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from saasllm_server.errors import InvalidRequest, NotFound


class StreamLog:
    """The numbered events of one stream, in order; readers follow it as it grows."""

    __slots__ = (
        "_changed",
        "cancel",
        "done",
        "events",
        "expires_at",
        "job_id",
        "on_close",
        "readers",
        "stream_id",
        "team_id",
    )

    def __init__(self, stream_id: str, team_id: str, job_id: str) -> None:
        self.stream_id = stream_id
        self.team_id = team_id
        self.job_id = job_id
        self.events: list[bytes] = []
        self.done = False
        self.readers = 0
        self.expires_at: float | None = None
        # Set by the response that drives the upstream: stops it (a client that is done).
        self.cancel: Callable[[], None] | None = None
        self.on_close: Callable[[StreamLog], None] | None = None
        self._changed = asyncio.Event()

    def frame(self, event: bytes) -> bytes:
        """Prefix an event with its id: ``<stream id>:<sequence number>``."""
        return b"id: %s:%d\n%s" % (self.stream_id.encode(), len(self.events) + 1, event)

    def append(self, event: bytes) -> bytes:
        framed = self.frame(event)
        self.events.append(framed)
        if self.readers:
            self._changed.set()
        return framed

    def close(self, tail: bytes, retention_s: float) -> bytes:
        self.done = True
        self.expires_at = time.monotonic() + retention_s
        if self.on_close is not None:
            self.on_close(self)
        framed = self.frame(tail)
        self.events.append(framed)
        self._changed.set()
        return framed

    async def follow(self, after: int) -> AsyncIterator[bytes]:
        """Events after sequence number ``after``, then each new one, until the last."""
        index = after
        self.readers += 1
        try:
            while True:
                while index < len(self.events):
                    yield self.events[index]
                    index += 1
                if self.done:
                    return
                self._changed.clear()
                await self._changed.wait()
        finally:
            self.readers -= 1


def parse_last_event_id(value: str) -> tuple[str, int]:
    stream_id, sep, number = value.strip().rpartition(":")
    if not sep or not stream_id or not number.isdigit():
        raise InvalidRequest("Last-Event-ID must be '<stream id>:<sequence number>'")
    return stream_id, int(number)


class ResumeStore(Protocol):
    def open(self, stream_id: str, team_id: str, job_id: str) -> StreamLog: ...

    def find(self, stream_id: str, team_id: str, job_id: str) -> StreamLog: ...


class InProcessResumeStore:
    """Logs by stream id; finished ones leave in expiry order (a heap, not a scan)."""

    def __init__(self) -> None:
        self._logs: dict[str, StreamLog] = {}
        self._expiry: list[tuple[float, str]] = []

    def open(self, stream_id: str, team_id: str, job_id: str) -> StreamLog:
        self._sweep()
        log = StreamLog(stream_id, team_id, job_id)
        log.on_close = self._closed
        self._logs[stream_id] = log
        return log

    def _closed(self, log: StreamLog) -> None:
        heapq.heappush(self._expiry, (log.expires_at or 0.0, log.stream_id))

    def find(self, stream_id: str, team_id: str, job_id: str) -> StreamLog:
        self._sweep()
        log = self._logs.get(stream_id)
        # Another team's stream id reads exactly like an expired one.
        if log is None or log.team_id != team_id or log.job_id != job_id:
            raise NotFound("no such stream to resume (unknown, another job's, or expired)")
        return log

    def _sweep(self) -> None:
        now = time.monotonic()
        while self._expiry and self._expiry[0][0] < now:
            _, stream_id = heapq.heappop(self._expiry)
            self._logs.pop(stream_id, None)

    def __len__(self) -> int:
        return len(self._logs)
