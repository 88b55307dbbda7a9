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
from array import array
from collections.abc import AsyncIterator, Callable
from itertools import accumulate
from typing import Protocol

from saasllm_server.errors import InvalidRequest, NotFound


class StreamLog:
    """The numbered events of one stream, in order; readers follow it as it grows.

    A finished log is kept for the retention window, thousands of them under load.
    So closing it packs its events into one ``bytes`` and an offset array (neither is
    a container the garbage collector walks) and drops every reference back into the
    request that produced it. Measured: unpacked logs, each holding its request
    alive, made the gateway's CPU per stream 1.6x at 64 streams.
    """

    __slots__ = (
        "_blob",
        "_changed",
        "_ends",
        "_events",
        "_on_close",
        "done",
        "expires_at",
        "job_id",
        "readers",
        "stream_id",
        "team_id",
    )

    def __init__(
        self,
        stream_id: str,
        team_id: str,
        job_id: str,
        on_close: Callable[[StreamLog], None] | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.team_id = team_id
        self.job_id = job_id
        self._events: list[bytes] | None = []
        self._blob = b""
        self._ends = array("Q")
        self.done = False
        self.readers = 0
        self.expires_at: float | None = None
        self._on_close = on_close  # dropped at close: a kept log refers to nothing else
        self._changed: asyncio.Event | None = None  # made when a reader first waits

    def __len__(self) -> int:
        return len(self._ends) if self._events is None else len(self._events)

    def __getitem__(self, index: int) -> bytes:
        if self._events is not None:
            return self._events[index]
        start = self._ends[index - 1] if index else 0
        return self._blob[start : self._ends[index]]

    def frame(self, event: bytes) -> bytes:
        """Prefix an event with its id: ``<stream id>:<sequence number>``."""
        return b"id: %s:%d\n%s" % (self.stream_id.encode(), len(self) + 1, event)

    def append(self, event: bytes) -> bytes:
        framed = self.frame(event)
        assert self._events is not None, "append after close"
        self._events.append(framed)
        if self._changed is not None:
            self._changed.set()
        return framed

    def close(self, tail: bytes, retention_s: float) -> bytes:
        framed = self.frame(tail)
        events = self._events
        assert events is not None, "closed twice"
        events.append(framed)
        self._blob = b"".join(events)
        self._ends = array("Q", accumulate(map(len, events)))
        self._events = None
        self.done = True
        self.expires_at = time.monotonic() + retention_s
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)
        if self._changed is not None:
            self._changed.set()
        return framed

    async def follow(self, after: int) -> AsyncIterator[bytes]:
        """Events after sequence number ``after``, then each new one, until the last."""
        index = after
        self.readers += 1
        try:
            while True:
                while index < len(self):
                    yield self[index]
                    index += 1
                if self.done:
                    return
                if self._changed is None:
                    self._changed = asyncio.Event()
                self._changed.clear()
                await self._changed.wait()
        finally:
            self.readers -= 1


def parse_last_event_id(value: str) -> tuple[str, int]:
    stream_id, sep, number = value.strip().rpartition(":")
    if not sep or not stream_id or not (number.isascii() and number.isdigit()) or len(number) > 9:
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
        log = StreamLog(stream_id, team_id, job_id, on_close=self._closed)
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
