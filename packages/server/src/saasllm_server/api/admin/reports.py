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
)
from saasllm_server.api.admin.auth import Operator, Reader
from saasllm_server.api.deps import GatewayDep
from saasllm_server.errors import InvalidRequest

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
    return await gw.reports.usage(
        organization_id=organization_id,
        team_id=team_id,
        start=_aware(start, "start"),
        end=_aware(end, "end"),
        group_by=group_by,
        user_id=user_id,
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
    return await gw.reports.jobs(
        organization_id=organization_id,
        team_id=team_id,
        status=status,
        job_type=job_type,
        user_id=user_id,
        start=_aware(start, "start"),
        end=_aware(end, "end"),
        limit=limit,
        cursor=cursor,
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
    return await gw.reports.audit(
        actor=by, action=action, target=target, limit=limit, cursor=cursor
    )
