"""Group commit for call records: concurrent calls share one transaction.

Each call still waits until its record is committed (so a client that completes
its job right after ``[DONE]`` always finds the call), but under load one commit
carries many records instead of one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_server.storage.call_writer import DriverCallWriter
from saasllm_server.storage.jobs import CallRecord

log = logging.getLogger("saasllm.recorder")

MAX_BATCH = 500


class CallRecorder:
    def __init__(self, engine: AsyncEngine, *, window_s: float = 0.005) -> None:
        self._window_s = window_s
        self._in_flight = 0
        self._writer = DriverCallWriter(engine)
        self._pending: list[tuple[CallRecord, asyncio.Future[None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def record(self, record: CallRecord) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        self._in_flight = max(0, self._in_flight - 1)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    def call_started(self) -> None:
        self._in_flight += 1

    def call_abandoned(self) -> None:
        """A started call that will write no record (cancelled before it had an outcome)."""
        self._in_flight = max(0, self._in_flight - 1)

    async def _drain(self) -> None:
        if self._in_flight > len(self._pending):
            # Other calls are running and will end soon: let them join this commit. A commit
            # rewrites whole pages of the write-ahead log, so ten records cost about one.
            await asyncio.sleep(self._window_s)
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._writer.write([record for record, _ in batch])
            except Exception as exc:  # every waiter hears about it; the writer keeps going
                log.exception("writing %d call records failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def close(self) -> None:
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await self._drainer
        await self._writer.close()
