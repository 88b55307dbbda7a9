"""Group commit for call records: many calls share one transaction.

A commit costs far more than the rows in it (on SQLite it rewrites whole
write-ahead-log pages and crosses to the driver's thread several times), so
records are written in batches. Two policies:

* ``write_behind`` (SQLite, where one process owns the database): a call hands
  its record over and moves on; a batch is committed every ``window_s``. Every
  reader of call data in this process calls ``flush()`` first, so a client
  that completes its job right after ``[DONE]`` still finds its call. A crash
  loses at most the last window of records.
* commit before acknowledging (PostgreSQL, where another replica may serve the
  next request): a call waits until its record is committed; calls ending
  together still share one commit.

A long stream's usage is not only known at its end: a watched call hands over a
progress record every ``progress_interval_s`` or so, which joins the same batches
(one ticker for all streams, never anything per chunk), so a process killed
mid-stream has left at most that interval of the stream's usage unrecorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_server.storage.call_writer import DriverCallWriter
from saasllm_server.storage.jobs import CallRecord

log = logging.getLogger("saasllm.recorder")

MAX_BATCH = 500


class RecordNotWritten(Exception):
    """A batch of call records could not be committed (logged with its cause)."""


class _Batch:
    __slots__ = ("committed", "failed", "records")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.records: list[CallRecord] = []
        self.committed: asyncio.Future[None] = loop.create_future()
        self.failed: set[str] = set()  # ids of the records that could not be written


Progress = Callable[[], CallRecord | None]
"""A running call's record as of now, or None when nothing changed since the last one."""


@dataclass(slots=True)
class _Watched:
    progress: Progress
    since: float


class CallRecorder:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        write_behind: bool,
        window_s: float = 0.005,
        progress_interval_s: float = 5.0,
    ) -> None:
        self._write_behind = write_behind
        self._window_s = window_s
        self._in_flight = 0
        self._writer = DriverCallWriter(engine)
        self._open: _Batch | None = None  # collecting records
        self._writing: _Batch | None = None  # being committed
        self._drainer: asyncio.Task[None] | None = None
        self._progress_interval_s = progress_interval_s
        self._watched: dict[str, _Watched] = {}
        self._ticker: asyncio.Task[None] | None = None

    @property
    def write_behind(self) -> bool:
        return self._write_behind

    async def record(self, record: CallRecord) -> None:
        """Queue the record; unless writing behind, return once it is committed."""
        batch = self._enqueue([record])
        self._in_flight = max(0, self._in_flight - 1)
        if self._write_behind:
            return
        await asyncio.shield(batch.committed)
        if record.id in batch.failed:
            raise RecordNotWritten("the call record could not be written")

    def _enqueue(self, records: list[CallRecord]) -> _Batch:
        batch = self._open
        if batch is None:
            batch = self._open = _Batch(asyncio.get_running_loop())
        batch.records.extend(records)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return batch

    def watch(self, call_id: str, progress: Progress) -> None:
        """Record ``progress`` of a running call until ``unwatch``; its final record, handed
        over after ``unwatch``, replaces the last progress record (they share the call id)."""
        self._watched[call_id] = _Watched(progress, time.monotonic())
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick())

    def unwatch(self, call_id: str) -> None:
        self._watched.pop(call_id, None)

    async def _tick(self) -> None:
        """Every half interval, the progress of each call running for at least half an
        interval: so no call goes more than one interval without a record (a call shorter
        than half an interval never writes one: its final record comes first)."""
        half = self._progress_interval_s / 2
        while self._watched:
            await asyncio.sleep(half)
            now = time.monotonic()
            records: list[CallRecord] = []
            for watched in list(self._watched.values()):
                if now - watched.since < half:
                    continue
                try:
                    record = watched.progress()
                except Exception:  # one call's bad numbers must not stop the others' progress
                    log.exception("taking a call's progress failed")
                    continue
                if record is not None:
                    records.append(record)
            if records:
                self._enqueue(records)

    async def flush(self) -> None:
        """Return once every record handed over before this call is committed (or failed)."""
        for batch in (self._writing, self._open):
            if batch is not None:
                await asyncio.shield(batch.committed)

    def call_started(self) -> None:
        self._in_flight += 1

    def call_abandoned(self) -> None:
        """A started call that will write no record (cancelled before it had an outcome)."""
        self._in_flight = max(0, self._in_flight - 1)

    async def _drain(self) -> None:
        while self._open is not None:
            if self._write_behind or self._in_flight > len(self._open.records):
                # Let the calls ending meanwhile join this commit.
                await asyncio.sleep(self._window_s)
            batch, self._open = self._open, None
            if batch is None:
                continue
            self._writing = batch
            try:
                for start in range(0, len(batch.records), MAX_BATCH):
                    await self._write(batch, batch.records[start : start + MAX_BATCH])
            finally:
                self._writing = None
                batch.committed.set_result(None)

    async def _write(self, batch: _Batch, records: list[CallRecord]) -> None:
        """One commit for all; if that fails, one each, so a record the database refuses
        cannot take the others (other teams' calls among them) down with it."""
        try:
            await self._writer.write(records)
            return
        except Exception:  # the writer keeps going; waiters learn it from ``failed``
            if len(records) == 1:
                log.exception("writing call record %s failed", records[0].id)
                batch.failed.add(records[0].id)
                return
            log.warning("a batch of %d call records failed; writing them one by one", len(records))
        for record in records:
            try:
                await self._writer.write([record])
            except Exception:
                log.exception("writing call record %s failed", record.id)
                batch.failed.add(record.id)

    async def close(self) -> None:
        self._watched.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        while self._drainer is not None and not self._drainer.done():
            with contextlib.suppress(Exception):
                await self._drainer
        await self._writer.close()
