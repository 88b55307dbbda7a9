"""The job lifecycle: create, admit calls, record calls, complete and charge exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import (
    CallSummary,
    CostSummary,
    ErrorCode,
    Job,
    JobComplete,
    JobCreate,
    JobCreated,
    JobResult,
)
from saasllm_server.domain.billing import can_start_work, job_charge
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import (
    InsufficientCredits,
    InvalidRequest,
    JobAlreadyCompleted,
    JobNotFound,
    PermissionDenied,
)
from saasllm_server.storage import jobs as job_store
from saasllm_server.storage import ledger
from saasllm_server.storage import tenancy as tenancy_store
from saasllm_server.storage.database import as_utc, utcnow
from saasllm_server.storage.jobs import CallRecord

FINAL = frozenset({"completed", "failed", "cancelled"})


def parse_job_id(job_id: str) -> str:
    """Job ids are UUIDs; anything else is a client error, not a lookup."""
    try:
        return str(uuid.UUID(job_id))
    except (ValueError, AttributeError, TypeError):
        raise InvalidRequest("job_id is not a UUID", param="job_id") from None


def _insufficient(balance: int) -> InsufficientCredits:
    return InsufficientCredits(f"insufficient credits: the team holds {balance}")


class JobService:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, principal: Principal, request: JobCreate) -> JobCreated:
        if request.team_id is not None and request.team_id != principal.team_id:
            raise PermissionDenied(
                "this key belongs to another team", code=ErrorCode.TEAM_MISMATCH, param="team_id"
            )
        job_id = str(uuid.uuid4())
        now = utcnow()
        async with self._engine.begin() as conn:
            balance = await tenancy_store.balance(conn, principal.team_id)
            if balance is None or not can_start_work(balance):
                raise _insufficient(balance or 0)
            await job_store.insert_job(
                conn,
                {
                    "id": job_id,
                    "team_id": principal.team_id,
                    "job_type": request.job_type,
                    "status": "pending",
                    "user_id": request.user_id,
                    "metadata": request.metadata,
                    "credits_charged": 0,
                    "created_at": now,
                },
            )
        return JobCreated(
            job_id=job_id,
            team_id=principal.team_id,
            job_type=request.job_type,
            status="pending",
            created_at=now,
        )

    async def admit_call(self, principal: Principal, job_id: str) -> None:
        async with self._engine.connect() as conn:
            found = await job_store.admission(conn, principal.team_id, job_id)
        if found is None:
            raise JobNotFound(f"job {job_id} not found")
        if found.status in FINAL:
            raise JobAlreadyCompleted(f"job {job_id} is already {found.status}")
        if not can_start_work(found.balance):
            raise _insufficient(found.balance)

    async def record_call(self, record: CallRecord) -> None:
        async with self._engine.begin() as conn:
            await job_store.record_call(conn, record)

    async def get(self, principal: Principal, job_id: str) -> Job:
        async with self._engine.connect() as conn:
            row = await job_store.job_row(conn, principal.team_id, job_id)
            if row is None:
                raise JobNotFound(f"job {job_id} not found")
            totals = await job_store.call_totals(conn, job_id)
            groups = await job_store.groups_used(conn, job_id)
        return _job(row, totals.total_calls, groups)

    async def complete(self, principal: Principal, job_id: str, request: JobComplete) -> JobResult:
        now = utcnow()
        try:
            async with self._engine.begin() as conn:
                return await self._complete(conn, principal, job_id, request, now)
        except IntegrityError as exc:
            # The ledger's unique (job_id, kind) caught a second charge that raced past the
            # status check; the whole transaction rolled back.
            raise JobAlreadyCompleted(f"job {job_id} is already completed") from exc

    async def _complete(
        self,
        conn: Any,
        principal: Principal,
        job_id: str,
        request: JobComplete,
        now: datetime,
    ) -> JobResult:
        charge = job_charge(principal) if request.status == "completed" else 0
        values: dict[str, Any] = {
            "status": request.status,
            "completed_at": now,
            "credits_charged": charge,
        }
        if request.error_message is not None:
            values["error_message"] = request.error_message
        # Closing first takes the job's row lock: a racing completer waits, then finds it closed.
        if not await job_store.close_job(conn, principal.team_id, job_id, values):
            row = await job_store.job_row(conn, principal.team_id, job_id)
            if row is None:
                raise JobNotFound(f"job {job_id} not found")
            raise JobAlreadyCompleted(f"job {job_id} is already {row.status}")
        row = await job_store.job_row(conn, principal.team_id, job_id)
        if request.metadata:
            merged = {**(row.metadata or {}), **request.metadata}
            await job_store.merge_metadata(conn, job_id, merged)
        if charge:
            remaining = await ledger.debit(
                conn,
                team_id=principal.team_id,
                amount=charge,
                kind="job_charge",
                job_id=job_id,
                now=now,
                reason=f"job {row.job_type} completed",
                actor=f"key:{principal.key_id}",
            )
            if remaining is None:
                held = await tenancy_store.balance(conn, principal.team_id) or 0
                raise _insufficient(held)
        else:
            remaining = await tenancy_store.balance(conn, principal.team_id) or 0
        totals = await job_store.call_totals(conn, job_id)
        calls = await job_store.calls_of(conn, job_id)
        costs = CostSummary(
            total_calls=totals.total_calls,
            successful_calls=totals.successful_calls,
            failed_calls=totals.failed_calls,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            total_tokens=totals.prompt_tokens + totals.completion_tokens,
            total_cost_usd=round(totals.cost_usd, 8),
            avg_latency_ms=round(totals.avg_latency_ms, 2),
            credit_applied=charge > 0,
            credits_charged=charge,
            credits_remaining=remaining,
        )
        return JobResult(
            job_id=job_id,
            team_id=principal.team_id,
            status=request.status,
            completed_at=now,
            credit_applied=charge > 0,
            credits_charged=charge,
            credits_remaining=remaining,
            total_calls=totals.total_calls,
            costs=costs,
            calls=[_call(c) for c in calls],
        )


def _job(row: Any, total_calls: int, groups: list[str]) -> Job:
    return Job(
        job_id=row.id,
        team_id=row.team_id,
        job_type=row.job_type,
        status=row.status,
        user_id=row.user_id,
        metadata=row.metadata or {},
        created_at=as_utc(row.created_at),
        started_at=as_utc(row.started_at),
        completed_at=as_utc(row.completed_at),
        error_message=row.error_message,
        credit_applied=row.credits_charged > 0,
        credits_charged=row.credits_charged,
        total_calls=total_calls,
        model_groups_used=groups,
    )


def _call(row: Any) -> CallSummary:
    return CallSummary(
        call_id=row.id,
        model_group=row.model_group,
        model=row.model,
        status=row.status,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd,
        latency_ms=row.latency_ms,
        ttft_ms=row.ttft_ms,
        error=row.error,
    )
