"""Queries about jobs and their calls: the hot-path admission read and the call record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_schema import OPEN_STATUSES, CallStatus, JobStatus
from saasllm_server.storage.tables import jobs, llm_calls

_OPEN = sorted(OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class CallTotals:
    total_calls: int
    successful_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    avg_latency_ms: float
    # What the calls that failed (status ``failed``: the upstream's doing) used, among the above.
    failed_prompt_tokens: int = 0
    failed_completion_tokens: int = 0
    failed_cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: str
    job_id: str
    team_id: str
    model_group: str
    deployment_id: str
    model: str
    status: CallStatus
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    error: str | None
    end_user: str | None
    created_at: datetime
    job_was_pending: bool = True


async def job_status(conn: AsyncConnection, team_id: str, job_id: str) -> JobStatus | None:
    """One primary-key read: the job's status, if it is the team's."""
    status = await conn.scalar(
        select(jobs.c.status).where(jobs.c.id == job_id, jobs.c.team_id == team_id)
    )
    return None if status is None else JobStatus(status)


async def add_job_hold(conn: AsyncConnection, job_id: str, amount: int) -> bool:
    """Count a call's hold on its job, if the job is still open (False: it closed meanwhile)."""
    result = await conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_(_OPEN))
        .values(credits_reserved=jobs.c.credits_reserved + amount)
    )
    return result.rowcount == 1


async def insert_job(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(jobs).values(**values))


async def job_row(conn: AsyncConnection, team_id: str, job_id: str, *, lock: bool = False) -> Any:
    query = select(jobs).where(jobs.c.id == job_id, jobs.c.team_id == team_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def call_totals(conn: AsyncConnection, job_id: str) -> CallTotals:
    ok = case((llm_calls.c.status == CallStatus.SUCCESS, 1), else_=0)
    failed = llm_calls.c.status == CallStatus.FAILED

    def failed_sum(column: Any, zero: Any) -> Any:
        return func.coalesce(func.sum(case((failed, column), else_=zero)), zero)

    row = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ok), 0),
                func.coalesce(func.sum(llm_calls.c.prompt_tokens), 0),
                func.coalesce(func.sum(llm_calls.c.completion_tokens), 0),
                func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0),
                func.coalesce(func.avg(llm_calls.c.latency_ms), 0.0),
                failed_sum(llm_calls.c.prompt_tokens, 0),
                failed_sum(llm_calls.c.completion_tokens, 0),
                failed_sum(llm_calls.c.cost_usd, 0.0),
            ).where(llm_calls.c.job_id == job_id)
        )
    ).one()
    total, successful = int(row[0]), int(row[1])
    return CallTotals(
        total_calls=total,
        successful_calls=successful,
        failed_calls=total - successful,
        prompt_tokens=int(row[2]),
        completion_tokens=int(row[3]),
        cost_usd=float(row[4]),
        avg_latency_ms=float(row[5]),
        failed_prompt_tokens=int(row[6]),
        failed_completion_tokens=int(row[7]),
        failed_cost_usd=float(row[8]),
    )


async def end_running_calls(conn: AsyncConnection, job_id: str, error: str) -> int:
    """Close the progress rows of a job's calls that will never write their final record
    (their process died): they end ``cancelled`` with what they had recorded."""
    result = await conn.execute(
        update(llm_calls)
        .where(llm_calls.c.job_id == job_id, llm_calls.c.status == CallStatus.RUNNING)
        .values(status=CallStatus.CANCELLED, error=error)
    )
    return int(result.rowcount or 0)


async def calls_of(conn: AsyncConnection, job_id: str) -> list[Any]:
    result = await conn.execute(
        select(llm_calls).where(llm_calls.c.job_id == job_id).order_by(llm_calls.c.created_at)
    )
    return list(result)


async def groups_used(conn: AsyncConnection, job_id: str) -> list[str]:
    result = await conn.execute(
        select(llm_calls.c.model_group)
        .where(llm_calls.c.job_id == job_id)
        .group_by(llm_calls.c.model_group)
        .order_by(llm_calls.c.model_group)
    )
    return list(result.scalars())


async def close_job(
    conn: AsyncConnection,
    team_id: str,
    job_id: str,
    values: dict[str, Any],
) -> bool:
    """Move an open job to its final status; False when it was not open (a racing completer won)."""
    result = await conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.team_id == team_id, jobs.c.status.in_(_OPEN))
        .values(**values)
    )
    return result.rowcount == 1


async def update_job(conn: AsyncConnection, job_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


async def by_create_key(conn: AsyncConnection, team_id: str, key: str) -> Any:
    return (
        await conn.execute(select(jobs).where(jobs.c.team_id == team_id, jobs.c.create_key == key))
    ).first()
