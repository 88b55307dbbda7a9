"""The hot path's one write, through the database driver with statements compiled once.

Measured on this machine (500 sequential one-row commits): SQLAlchemy's async
execution costs ~0.75 ms CPU per record on SQLite and ~0.4 ms on PostgreSQL; the
same statement handed to the driver costs ~0.1 ms and ~0.2 ms. So the call
recorder keeps one connection of its own and talks to the driver directly. The
SQL and the value conversions still come from the table definitions, so this
cannot drift from the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saasllm_schema import JobStatus
from saasllm_server.storage.jobs import CallRecord
from saasllm_server.storage.tables import jobs, llm_calls

Processor = Callable[[object], object] | None


def _processors(dialect: Dialect, types: Sequence[Any]) -> list[Processor]:
    return [t.bind_processor(dialect) for t in types]


def _row(values: Sequence[Any], processors: Sequence[Processor]) -> tuple[Any, ...]:
    return tuple(v if p is None else p(v) for v, p in zip(values, processors, strict=True))


class DriverCallWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        dialect = engine.dialect
        self._sqlite = dialect.name == "sqlite"

        keys = [column.key for column in llm_calls.c]
        compiled = insert(llm_calls).compile(dialect=dialect, column_keys=keys)
        self._insert_sql = str(compiled)
        self._insert_keys = list(compiled.positiontup or ())
        self._insert_processors = _processors(
            dialect, [llm_calls.c[key].type for key in self._insert_keys]
        )

        started = (
            update(jobs)
            .where(jobs.c.id == bindparam("job_id"), jobs.c.status == bindparam("was"))
            .values(status=bindparam("now"), started_at=bindparam("at"))
            .compile(dialect=dialect)
        )
        self._start_sql = str(started)
        self._start_keys = list(started.positiontup or ())
        column_of = {"job_id": jobs.c.id, "was": jobs.c.status, "now": jobs.c.status}
        self._start_processors = _processors(
            dialect, [column_of.get(key, jobs.c.started_at).type for key in self._start_keys]
        )

    async def _driver(self) -> Any:
        if self._connection is None or self._connection.closed:
            self._connection = await self._engine.connect()
        raw = await self._connection.get_raw_connection()
        return raw.driver_connection

    async def write(self, records: Sequence[CallRecord]) -> None:
        rows = [
            _row([getattr(r, key) for key in self._insert_keys], self._insert_processors)
            for r in records
        ]
        first_calls = {r.job_id: r.created_at for r in records if r.job_was_pending}
        starts = [
            _row(
                [
                    {
                        "job_id": job_id,
                        "was": JobStatus.PENDING,
                        "now": JobStatus.IN_PROGRESS,
                        "at": at,
                    }[key]
                    for key in self._start_keys
                ],
                self._start_processors,
            )
            for job_id, at in first_calls.items()
        ]
        driver = await self._driver()
        try:
            if self._sqlite:
                try:
                    await driver.executemany(self._insert_sql, rows)
                    if starts:
                        await driver.executemany(self._start_sql, starts)
                    await driver.commit()
                except BaseException:
                    await driver.rollback()
                    raise
            elif len(rows) == 1 and not starts:
                # One statement commits on its own: one round trip instead of three.
                await driver.execute(self._insert_sql, *rows[0])
            else:
                async with driver.transaction():
                    await driver.executemany(self._insert_sql, rows)
                    if starts:
                        await driver.executemany(self._start_sql, starts)
        except OSError:
            await self.close()  # a broken connection is replaced on the next write
            raise

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
