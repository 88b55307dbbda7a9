"""Per-team request-rate and concurrent-stream limits behind one interface.

The in-process limiter serves a single replica; a Redis limiter for several
replicas implements the same ``RateLimiter`` protocol.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from saasllm_schema import ErrorCode
from saasllm_server.errors import RateLimited

WINDOW_S = 60.0


class StreamSlot(Protocol):
    async def release(self) -> None: ...


class RateLimiter(Protocol):
    async def hit(self, team_id: str, rpm_limit: int | None) -> None:
        """Count one request; raise ``RateLimited`` when the team is over its limit."""

    async def open_stream(self, team_id: str, max_streams: int | None) -> StreamSlot:
        """Take a concurrent-stream slot; raise ``RateLimited`` when none is free."""

    async def open_streams(self, team_id: str) -> int:
        """How many slots the team holds now (for tests and metrics)."""


@dataclass
class _Window:
    """A sliding window approximated by two fixed windows, as most gateways do."""

    start: float = 0.0
    current: int = 0
    previous: int = 0


@dataclass
class _InProcessSlot:
    open_streams: dict[str, int]  # the limiter's count per team
    team_id: str
    released: bool = False

    async def release(self) -> None:
        if not self.released:
            self.released = True
            self.open_streams[self.team_id] -= 1


@dataclass
class InProcessRateLimiter:
    _windows: dict[str, _Window] = field(default_factory=lambda: defaultdict(_Window))
    _streams: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    async def hit(self, team_id: str, rpm_limit: int | None) -> None:
        if rpm_limit is None:
            return
        now = time.monotonic()
        window = self._windows[team_id]
        elapsed = now - window.start
        if elapsed >= WINDOW_S:
            window.previous = window.current if elapsed < 2 * WINDOW_S else 0
            window.current = 0
            window.start = now - (elapsed % WINDOW_S)
            elapsed = now - window.start
        weight = 1.0 - elapsed / WINDOW_S
        estimated = window.previous * weight + window.current
        if estimated + 1 > rpm_limit:
            retry_after = _seconds_until_room(window, rpm_limit, elapsed)
            raise RateLimited(
                f"team is over its limit of {rpm_limit} requests per minute",
                retry_after=retry_after,
            )
        window.current += 1

    async def open_stream(self, team_id: str, max_streams: int | None) -> StreamSlot:
        if max_streams is not None and self._streams[team_id] >= max_streams:
            raise RateLimited(
                f"team already has {max_streams} streams open",
                code=ErrorCode.CONCURRENCY_LIMITED,
                retry_after=1.0,
            )
        self._streams[team_id] += 1
        return _InProcessSlot(self._streams, team_id)

    async def open_streams(self, team_id: str) -> int:
        return self._streams[team_id]


def _seconds_until_room(window: _Window, limit: int, elapsed: float) -> float:
    if window.current + 1 > limit or window.previous == 0:
        return max(1.0, math.ceil(WINDOW_S - elapsed))
    # Room appears as the previous window's weight decays.
    needed = window.previous + window.current + 1 - limit
    seconds = WINDOW_S * needed / window.previous - elapsed + 0.0
    return float(max(1, math.ceil(min(seconds, WINDOW_S - elapsed))))
