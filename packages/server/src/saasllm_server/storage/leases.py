"""Job leases: ``jobs.active_at`` is when a process last showed it works on the job."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_schema.jobs import OPEN_STATUSES
from saasllm_server.storage.tables import jobs

_SWEEP_LOCK_ID = 7_231_004_119


async def renew(conn: AsyncConnection, job_ids: Collection[str], now: datetime) -> None:
    if job_ids:
        await conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(list(job_ids)), jobs.c.status.in_(list(OPEN_STATUSES)))
            .values(active_at=now)
        )


async def idle_jobs(conn: AsyncConnection, before: datetime, limit: int) -> list[tuple[str, str]]:
    """Open jobs nobody has shown activity on since ``before``: (job id, team id)."""
    active = func.coalesce(jobs.c.active_at, jobs.c.created_at)
    result = await conn.execute(
        select(jobs.c.id, jobs.c.team_id)
        .where(jobs.c.status.in_(list(OPEN_STATUSES)), active < before)
        .order_by(active)
        .limit(limit)
    )
    return [(row.id, row.team_id) for row in result]


async def try_sweep_lock(conn: AsyncConnection) -> bool:
    """One sweeper at a time across replicas (PostgreSQL); a SQLite file has one process."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(await conn.scalar(text(f"SELECT pg_try_advisory_lock({_SWEEP_LOCK_ID})")))


async def release_sweep_lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_unlock({_SWEEP_LOCK_ID})"))
