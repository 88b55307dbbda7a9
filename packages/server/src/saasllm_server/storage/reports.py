"""Read-only aggregates for operators: usage by day and job type, job listings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from saasllm_schema import CallStatus, JobStatus
from saasllm_server.storage.tables import jobs, llm_calls, teams


@dataclass
class Bucket:
    day: date | None
    job_type: str | None
    jobs: int = 0
    completed_jobs: int = 0
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    provider_cost_usd: float = 0.0
    credits_charged: int = 0


def total(buckets: Sequence[Bucket]) -> Bucket:
    """Every job lies in exactly one bucket (and its calls with it): the buckets add up."""
    whole = Bucket(None, None)
    for b in buckets:
        whole.jobs += b.jobs
        whole.completed_jobs += b.completed_jobs
        whole.calls += b.calls
        whole.failed_calls += b.failed_calls
        whole.prompt_tokens += b.prompt_tokens
        whole.completion_tokens += b.completion_tokens
        whole.provider_cost_usd += b.provider_cost_usd
        whole.credits_charged += b.credits_charged
    return whole


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day(conn: AsyncConnection) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("UTC", jobs.c.created_at), Date)
    return func.date(jobs.c.created_at)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def usage(
    conn: AsyncConnection,
    *,
    organization_id: str | None,
    team_id: str | None,
    start: datetime | None,
    end: datetime | None,
    by_day: bool,
    user_id: str | None = None,
    by_job_type: bool,
) -> list[Bucket]:
    day = _day(conn).label("day")
    keys: list[Any] = []
    if by_day:
        keys.append(day)
    if by_job_type:
        keys.append(jobs.c.job_type)

    def scoped(query: Any) -> Any:
        query = query.join(teams, teams.c.id == jobs.c.team_id)
        if organization_id is not None:
            query = query.where(teams.c.organization_id == organization_id)
        if team_id is not None:
            query = query.where(jobs.c.team_id == team_id)
        if user_id is not None:
            query = query.where(jobs.c.user_id == user_id)
        if start is not None:
            query = query.where(jobs.c.created_at >= start)
        if end is not None:
            query = query.where(jobs.c.created_at < end)
        return query.group_by(*keys) if keys else query

    job_query = scoped(
        select(
            *keys,
            func.count(jobs.c.id).label("jobs"),
            func.coalesce(
                func.sum(case((jobs.c.status == JobStatus.COMPLETED, 1), else_=0)), 0
            ).label("completed"),
            func.coalesce(func.sum(jobs.c.credits_charged), 0).label("credits"),
        ).select_from(jobs)
    )
    call_query = scoped(
        select(
            *keys,
            func.count(llm_calls.c.id).label("calls"),
            func.coalesce(
                func.sum(case((llm_calls.c.status != CallStatus.SUCCESS, 1), else_=0)), 0
            ).label("failed"),
            func.coalesce(func.sum(llm_calls.c.prompt_tokens), 0).label("prompt"),
            func.coalesce(func.sum(llm_calls.c.completion_tokens), 0).label("completion"),
            func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0).label("cost"),
        ).select_from(llm_calls.join(jobs, jobs.c.id == llm_calls.c.job_id))
    )
    buckets: dict[tuple[Any, Any], Bucket] = {}

    def bucket(row: Any) -> Bucket:
        key_day = _as_date(row.day) if by_day else None
        key_type = row.job_type if by_job_type else None
        found = buckets.get((key_day, key_type))
        if found is None:
            found = buckets[(key_day, key_type)] = Bucket(key_day, key_type)
        return found

    for row in await conn.execute(job_query):
        b = bucket(row)
        b.jobs, b.completed_jobs, b.credits_charged = (
            int(row.jobs),
            int(row.completed),
            int(row.credits),
        )
    for row in await conn.execute(call_query):
        b = bucket(row)
        b.calls, b.failed_calls = int(row.calls), int(row.failed)
        b.prompt_tokens, b.completion_tokens = int(row.prompt), int(row.completion)
        b.provider_cost_usd = float(row.cost)
    return sorted(
        (b for b in buckets.values() if b.jobs or b.calls),
        key=lambda b: (b.day or date.min, b.job_type or ""),
    )


async def job_page(
    conn: AsyncConnection,
    *,
    organization_id: str | None,
    team_id: str | None,
    status: str | None,
    job_type: str | None,
    user_id: str | None,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Newest first; ``after`` is the (created_at, id) of the previous page's last job."""
    query = select(jobs).join(teams, teams.c.id == jobs.c.team_id)
    if organization_id is not None:
        query = query.where(teams.c.organization_id == organization_id)
    for column, value in (
        (jobs.c.team_id, team_id),
        (jobs.c.status, status),
        (jobs.c.job_type, job_type),
        (jobs.c.user_id, user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(jobs.c.created_at >= start)
    if end is not None:
        query = query.where(jobs.c.created_at < end)
    if after is not None:
        at, job_id = after
        query = query.where(
            (jobs.c.created_at < at) | ((jobs.c.created_at == at) & (jobs.c.id < job_id))
        )
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).all())
