"""What operators read: usage and cost by day and job type, job listings, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from saasllm_schema import (
    AuditEntry,
    ErrorBody,
    JobListItem,
    JobStatus,
    Page,
    UsageGrouping,
    UsageReport,
    UsageRow,
)
from saasllm_server.api.admin.auth import Operator, Reader
from saasllm_server.api.admin.cursors import decode_cursor, int_cursor, page_of
from saasllm_server.api.deps import GatewayDep
from saasllm_server.errors import InvalidRequest
from saasllm_server.storage import audit, reports
from saasllm_server.storage.database import as_utc

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 422)},
)

Limit = Annotated[int, Query(ge=1, le=500)]


def _aware(value: datetime | None, name: str) -> datetime | None:
    """In UTC, as stored; a time without a zone would be ambiguous."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone (e.g. 2027-01-01T00:00:00Z)", param=name)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(f"{name} is out of range", param=name) from None


def _row(bucket: reports.Bucket) -> UsageRow:
    return UsageRow(
        day=bucket.day,
        job_type=bucket.job_type,
        jobs=bucket.jobs,
        completed_jobs=bucket.completed_jobs,
        calls=bucket.calls,
        failed_calls=bucket.failed_calls,
        prompt_tokens=bucket.prompt_tokens,
        completion_tokens=bucket.completion_tokens,
        provider_cost_usd=round(bucket.provider_cost_usd, 8),
        credits_charged=bucket.credits_charged,
    )


@router.get("/usage", response_model=UsageReport)
async def usage(
    gw: GatewayDep,
    actor: Reader,
    organization_id: str | None = None,
    team_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: UsageGrouping = "day",
    user_id: str | None = None,
) -> UsageReport:
    """Jobs, calls, tokens, provider cost and credits charged, for a team or an organization
    (or everything), by day (UTC, of the job's creation) and/or job type; ``user_id`` narrows
    it to one of your end users (the ``user_id`` given when the job was created)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    await gw.jobs.flush_calls()
    async with gw.engine.connect() as conn:
        buckets = await reports.usage(
            conn,
            organization_id=organization_id,
            team_id=team_id,
            start=start,
            end=end,
            user_id=user_id,
            by_day=group_by in ("day", "day_and_job_type"),
            by_job_type=group_by in ("job_type", "day_and_job_type"),
        )
    return UsageReport(
        organization_id=organization_id,
        team_id=team_id,
        start=start,
        end=end,
        group_by=group_by,
        rows=[_row(b) for b in buckets],
        totals=_row(reports.total(buckets)),
    )


@router.get("/jobs", response_model=Page[JobListItem])
async def list_jobs(
    gw: GatewayDep,
    actor: Reader,
    organization_id: str | None = None,
    team_id: str | None = None,
    status: JobStatus | None = None,
    job_type: str | None = None,
    user_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[JobListItem]:
    """Newest first, filtered; follow ``next_cursor`` for older jobs."""
    start, end = _aware(start, "start"), _aware(end, "end")
    after = None
    if cursor is not None:
        values = decode_cursor(cursor)
        try:
            at = datetime.fromisoformat(values[0])
            if at.tzinfo is None:
                raise ValueError("naive")
            after = (at.astimezone(UTC), str(values[1]))
        except (ValueError, TypeError, IndexError, OverflowError):
            raise InvalidRequest("invalid cursor", param="cursor") from None
    async with gw.engine.connect() as conn:
        rows = await reports.job_page(
            conn,
            organization_id=organization_id,
            team_id=team_id,
            status=status,
            job_type=job_type,
            user_id=user_id,
            start=start,
            end=end,
            after=after,
            limit=limit + 1,
        )
    return page_of(
        rows,
        limit,
        lambda r: JobListItem(
            job_id=r.id,
            team_id=r.team_id,
            job_type=r.job_type,
            status=r.status,
            user_id=r.user_id,
            created_at=as_utc(r.created_at),
            completed_at=as_utc(r.completed_at),
            credits_charged=int(r.credits_charged),
            credits_reserved=int(r.credits_reserved),
        ),
        lambda r: (as_utc(r.created_at).isoformat(), r.id),  # type: ignore[union-attr]
    )


@router.get("/audit", response_model=Page[AuditEntry])
async def audit_log(
    gw: GatewayDep,
    actor: Operator,
    by: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page[AuditEntry]:
    """Every admin change, newest first: who (``admin:env`` or ``admin:<key id>``), what, to
    which object."""
    before = None if cursor is None else int_cursor(cursor)
    async with gw.engine.connect() as conn:
        rows = await audit.entries(
            conn, before_id=before, limit=limit + 1, actor=by, action=action, target=target
        )
    return page_of(
        rows,
        limit,
        lambda r: AuditEntry(
            id=int(r.id),
            at=as_utc(r.at),
            actor=r.actor,
            action=r.action,
            target=r.target,
            details=r.details or {},
        ),
        lambda r: (int(r.id),),
    )
