"""What operators read: usage and cost by day and job type, job listings, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import (
    AuditEntry,
    JobListItem,
    JobStatus,
    Page,
    UsageGrouping,
    UsageReport,
    UsageRow,
)
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.paging import decode_cursor, int_cursor, page_of
from saasllm_server.errors import InvalidRequest
from saasllm_server.storage import audit, reports
from saasllm_server.storage.database import as_utc


def _usage_row(bucket: reports.Bucket) -> UsageRow:
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


def _job_item(row: Any) -> JobListItem:
    return JobListItem(
        job_id=row.id,
        team_id=row.team_id,
        job_type=row.job_type,
        status=row.status,
        user_id=row.user_id,
        created_at=as_utc(row.created_at),
        completed_at=as_utc(row.completed_at),
        credits_charged=int(row.credits_charged),
        credits_reserved=int(row.credits_reserved),
    )


def _audit_entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        at=as_utc(row.at),
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=row.details or {},
    )


def _job_cursor(cursor: str) -> tuple[datetime, str]:
    values = decode_cursor(cursor)
    try:
        at = datetime.fromisoformat(values[0])
        if at.tzinfo is None:
            raise ValueError("naive")
        return at.astimezone(UTC), str(values[1])
    except (ValueError, TypeError, IndexError, OverflowError):
        raise InvalidRequest("invalid cursor", param="cursor") from None


class ReportService:
    def __init__(self, engine: AsyncEngine, jobs: JobService) -> None:
        self._engine = engine
        self._jobs = jobs

    async def usage(
        self,
        *,
        organization_id: str | None,
        team_id: str | None,
        start: datetime | None,
        end: datetime | None,
        group_by: UsageGrouping,
        user_id: str | None,
    ) -> UsageReport:
        await self._jobs.flush_calls()
        async with self._engine.connect() as conn:
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
            rows=[_usage_row(b) for b in buckets],
            totals=_usage_row(reports.total(buckets)),
        )

    async def jobs(
        self,
        *,
        organization_id: str | None,
        team_id: str | None,
        status: JobStatus | None,
        job_type: str | None,
        user_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page[JobListItem]:
        """Newest first; the cursor is the last job's (created_at, id)."""
        async with self._engine.connect() as conn:
            rows = await reports.job_page(
                conn,
                organization_id=organization_id,
                team_id=team_id,
                status=status,
                job_type=job_type,
                user_id=user_id,
                start=start,
                end=end,
                after=None if cursor is None else _job_cursor(cursor),
                limit=limit + 1,
            )
        return page_of(
            rows,
            limit,
            _job_item,
            lambda r: (as_utc(r.created_at).isoformat(), r.id),  # type: ignore[union-attr]
        )

    async def audit(
        self,
        *,
        actor: str | None,
        action: str | None,
        target: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[AuditEntry]:
        before = None if cursor is None else int_cursor(cursor)
        async with self._engine.connect() as conn:
            rows = await audit.entries(
                conn, before_id=before, limit=limit + 1, actor=actor, action=action, target=target
            )
        return page_of(rows, limit, _audit_entry, lambda r: (int(r.id),))
