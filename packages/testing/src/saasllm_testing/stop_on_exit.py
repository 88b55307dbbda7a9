"""Leaving a ``with`` or ``async with`` block stops what the block started.

One definition for the supervisor's children, the upstream processes built on
them and the in-process fake: each says how it stops, not how a block ends.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StopsOnAsyncExit:
    """``async with x:`` awaits ``x._stop_on_exit()`` however the block is left."""

    async def _stop_on_exit(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop_on_exit()


class StopsOnExit(StopsOnAsyncExit):
    """``with x:`` calls ``x.stop_sync()``, ``async with x:`` awaits ``x.stop()``, both with
    their default grace."""

    def stop_sync(self, grace: float = 5.0) -> int:
        raise NotImplementedError

    async def stop(self, grace: float = 5.0) -> int:
        raise NotImplementedError

    async def _stop_on_exit(self) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()
