"""The job lifecycle: create, admit calls, record calls, complete and charge exactly once."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saasllm_schema import (
    CallSummary,
    CostSummary,
    ErrorCode,
    Job,
    JobComplete,
    JobCreate,
    JobCreated,
    JobResult,
    JobStatus,
)
from saasllm_schema.jobs import FINAL_STATUSES
from saasllm_server.domain import billing, idempotency
from saasllm_server.domain.auth import team_principal
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import (
    CallsInFlight,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidRequest,
    JobAlreadyCompleted,
    JobNotFound,
    PermissionDenied,
)
from saasllm_server.storage import jobs as job_store
from saasllm_server.storage import ledger
from saasllm_server.storage.database import as_utc, utcnow
from saasllm_server.storage.jobs import CallRecord
from saasllm_server.storage.recorder import CallRecorder, Progress

_MAX_CACHED = 100_000


class _CachedJob(NamedTuple):
    expires: float
    team_id: str
    status: JobStatus


def parse_job_id(job_id: str) -> str:
    """Job ids are UUIDs; anything else is a client error, not a lookup."""
    try:
        return str(uuid.UUID(job_id))
    except (ValueError, AttributeError, TypeError):
        raise InvalidRequest("job_id is not a UUID", param="job_id") from None


def _insufficient(available: int, need: int = billing.ADMISSION_MINIMUM) -> InsufficientCredits:
    return InsufficientCredits(
        f"insufficient credits: {max(0, available)} available, {need} needed"
    )


def _available(held: ledger.Held, principal: Principal) -> int:
    return billing.available(held.balance, held.reserved, principal.overdraft_limit)


async def _hold(conn: AsyncConnection, principal: Principal, amount: int, need: int) -> ledger.Held:
    """Hold ``amount`` credits if ``need`` are available, or refuse the work (403)."""
    held = await ledger.hold(
        conn,
        team_id=principal.team_id,
        amount=amount,
        need=need,
        overdraft_limit=principal.overdraft_limit,
    )
    if held is None:
        current = await ledger.balance_row(conn, principal.team_id)
        raise _insufficient(_available(current, principal) if current else 0, need)
    return held


class JobService:
    """Jobs and their admission.

    Admission (is the job the team's and open, does the team hold a credit) is
    read from the database and kept for ``cache_ttl_s``; this process updates the
    cache itself when it creates or completes a job or moves credits, so only
    changes made by other replicas are seen up to that long late. Charging never
    relies on the cache: it is one conditional update in the database.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_ttl_s: float = 1.0,
        record_window_s: float = 0.02,
        complete_wait_s: float = 30.0,
        progress_interval_s: float = 5.0,
        waive_upstream_failures: bool = False,
    ) -> None:
        """``waive_upstream_failures``: calls that failed because of the upstream are left
        out of every charge (by default what they delivered is paid for)."""
        self._engine = engine
        self._complete_wait_s = complete_wait_s
        self._waive_upstream_failures = waive_upstream_failures
        # Calls of each job running on this process, and completers waiting for them.
        self._running: dict[str, int] = {}
        self._calls_ended: dict[str, asyncio.Event] = {}
        # One process owns a SQLite file, so its records may trail the stream (readers
        # flush); PostgreSQL may have replicas serving the next request.
        sqlite = engine.dialect.name == "sqlite"
        self._recorder = CallRecorder(
            engine,
            write_behind=sqlite,
            window_s=record_window_s if sqlite else 0.005,
            progress_interval_s=progress_interval_s,
        )
        self._ttl = cache_ttl_s
        self._job_cache: dict[str, _CachedJob] = {}
        self._balance_cache: dict[str, tuple[float, int]] = {}
        self._balance_reads: dict[str, asyncio.Future[int]] = {}
        # Bumped by every forget: a read begun before a change must not cache what it saw.
        self._balance_epochs: dict[str, int] = {}

    def _remember(
        self, team_id: str, job_id: str | None, status: JobStatus | None, balance: int | None
    ) -> None:
        if self._ttl <= 0:
            return
        # Spread out: jobs cached together must not all expire (and be read) together.
        expires = time.monotonic() + self._ttl * random.uniform(0.75, 1.25)
        if len(self._job_cache) > _MAX_CACHED:
            self._job_cache.clear()
        if job_id is not None and status is not None:
            self._job_cache[job_id] = _CachedJob(expires, team_id, status)
        if balance is not None:
            self._balance_cache[team_id] = (expires, balance)

    @property
    def waives_upstream_failures(self) -> bool:
        return self._waive_upstream_failures

    def forget_balance(self, team_id: str) -> None:
        self._balance_cache.pop(team_id, None)
        self._balance_reads.pop(team_id, None)
        self._balance_epochs[team_id] = self._balance_epochs.get(team_id, 0) + 1

    async def on_change(self, change: Change) -> None:
        # A team's overdraft limit is part of what it has available.
        if change.kind in (ChangeKind.BALANCE, ChangeKind.TEAM):
            self.forget_balance(change.subject)

    async def close(self) -> None:
        await self._recorder.close()

    async def create(
        self, principal: Principal, request: JobCreate, *, idempotency_key: str | None = None
    ) -> JobCreated:
        """With ``idempotency_key``, a retry of the same request returns the same job (and
        holds nothing more)."""
        if request.team_id is not None and request.team_id != principal.team_id:
            raise PermissionDenied(
                "this key belongs to another team", code=ErrorCode.TEAM_MISMATCH, param="team_id"
            )
        return await idempotency.once(
            idempotency_key,
            lambda key: self._created_with(principal, key, request),
            lambda: self._create(principal, request, idempotency_key),
        )

    async def _created_with(
        self, principal: Principal, key: str, request: JobCreate
    ) -> JobCreated | None:
        async with self._engine.connect() as conn:
            row = await job_store.by_create_key(conn, principal.team_id, key)
        if row is None:
            return None
        if row.job_type != request.job_type:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} created a job of type {row.job_type!r}"
            )
        return JobCreated(
            job_id=row.id,
            team_id=row.team_id,
            job_type=row.job_type,
            status=JobStatus.PENDING,
            created_at=as_utc(row.created_at),
        )

    async def _create(
        self, principal: Principal, request: JobCreate, idempotency_key: str | None
    ) -> JobCreated:
        job_id = str(uuid.uuid4())
        now = utcnow()
        hold = billing.job_hold(principal)
        need = max(billing.ADMISSION_MINIMUM, hold)
        async with self._engine.begin() as conn:
            held = await _hold(conn, principal, hold, need)
            await job_store.insert_job(
                conn,
                {
                    "id": job_id,
                    "team_id": principal.team_id,
                    "job_type": request.job_type,
                    "status": JobStatus.PENDING,
                    "user_id": request.user_id,
                    "metadata": request.metadata,
                    "credits_charged": 0,
                    "credits_reserved": hold,
                    "create_key": idempotency_key,
                    "created_at": now,
                    "active_at": now,
                },
            )
        balance = _available(held, principal)
        self._remember(principal.team_id, job_id, JobStatus.PENDING, balance)
        return JobCreated(
            job_id=job_id,
            team_id=principal.team_id,
            job_type=request.job_type,
            status=JobStatus.PENDING,
            created_at=now,
        )

    async def admit_call(self, principal: Principal, job_id: str) -> bool:
        """Refuse a call on a missing, foreign or closed job, or for a team without credits.

        Returns whether the job has not started yet (its first call moves it on).
        """
        now = time.monotonic()
        job = self._job_cache.get(job_id)
        if job is None or job.expires <= now:
            async with self._engine.connect() as conn:
                found = await job_store.job_status(conn, principal.team_id, job_id)
            if found is None:
                raise JobNotFound(f"job {job_id} not found")
            status = JobStatus(found)
            self._remember(principal.team_id, job_id, status, None)
        else:
            if job.team_id != principal.team_id:
                raise JobNotFound(f"job {job_id} not found")
            status = job.status
        if status in FINAL_STATUSES:
            raise JobAlreadyCompleted(f"job {job_id} is already {status}")
        # The job holds its minimum already; a team in deficit (an operator took credits
        # back) starts nothing more.
        balance = await self._available_now(principal, now)
        if balance < 0:
            raise _insufficient(balance, 0)
        return status == JobStatus.PENDING

    async def _available_now(self, principal: Principal, now: float) -> int:
        """The team's available credits, read at most once per cache period however many of
        its calls start meanwhile (they share one read instead of queueing their own)."""
        held = self._balance_cache.get(principal.team_id)
        if held is not None and held[0] > now:
            return held[1]
        team_id = principal.team_id
        reading = self._balance_reads.get(team_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read_available(principal))
            self._balance_reads[team_id] = reading

            def done(read: asyncio.Future[int]) -> None:
                if self._balance_reads.get(team_id) is read:
                    del self._balance_reads[team_id]

            reading.add_done_callback(done)
        return await asyncio.shield(reading)

    async def _read_available(self, principal: Principal) -> int:
        epoch = self._balance_epochs.get(principal.team_id, 0)
        async with self._engine.connect() as conn:
            current = await ledger.balance_row(conn, principal.team_id)
        available = _available(current, principal) if current else 0
        if self._balance_epochs.get(principal.team_id, 0) == epoch:
            self._remember(principal.team_id, None, None, available)
        return available

    async def hold_for_call(self, principal: Principal, job_id: str, amount: int) -> None:
        """Hold a call's estimated price on its job until the job settles."""
        if amount <= 0:
            return
        async with self._engine.begin() as conn:
            # Job row first, then the balance row: the order a completion takes them in, so
            # the two never wait for each other.
            if not await job_store.add_job_hold(conn, job_id, amount):
                raise JobAlreadyCompleted(f"job {job_id} is already closed")
            held = await _hold(conn, principal, amount, amount)
        self._remember(principal.team_id, None, None, _available(held, principal))

    def running_jobs(self) -> list[str]:
        """Jobs with a call running on this process (their leases are kept alive)."""
        return list(self._running)

    def call_started(self, job_id: str) -> None:
        self._recorder.call_started()
        self._running[job_id] = self._running.get(job_id, 0) + 1

    def call_abandoned(self, job_id: str) -> None:
        self._recorder.call_abandoned()
        self._call_ended(job_id)

    def _call_ended(self, job_id: str) -> None:
        left = self._running.get(job_id, 0) - 1
        if left > 0:
            self._running[job_id] = left
            return
        self._running.pop(job_id, None)
        waiting = self._calls_ended.pop(job_id, None)
        if waiting is not None:
            waiting.set()

    async def _wait_for_calls(self, job_id: str, deadline: float) -> None:
        """A job priced by what its calls use settles only once they have ended: a stream
        still running at completion would otherwise go on uncharged."""
        if not self._running.get(job_id):
            return
        ended = self._calls_ended.setdefault(job_id, asyncio.Event())
        try:
            await asyncio.wait_for(ended.wait(), deadline - asyncio.get_running_loop().time())
        except TimeoutError:
            raise CallsInFlight(
                f"job {job_id} still has a call running; complete it when the call has ended"
            ) from None

    def watch_call(self, call_id: str, progress: Progress) -> None:
        """Record a running call's progress now and then (its usage so far, its job's lease)
        until ``unwatch_call``: a crash of this process then loses little of what it served."""
        self._recorder.watch(call_id, progress)

    def unwatch_call(self, call_id: str) -> None:
        self._recorder.unwatch(call_id)

    async def record_call(self, record: CallRecord) -> None:
        try:
            await self._recorder.record(record)
        finally:
            self._call_ended(record.job_id)
        if record.job_was_pending:
            cached = self._job_cache.get(record.job_id)
            if cached is not None and cached.status == JobStatus.PENDING:
                self._job_cache[record.job_id] = cached._replace(status=JobStatus.IN_PROGRESS)

    async def flush_calls(self) -> None:
        """Every call record handed over so far is committed: call before reading calls."""
        await self._recorder.flush()

    async def get(self, principal: Principal, job_id: str) -> Job:
        await self._recorder.flush()
        async with self._engine.connect() as conn:
            row = await job_store.job_row(conn, principal.team_id, job_id)
            if row is None:
                raise JobNotFound(f"job {job_id} not found")
            totals = await job_store.call_totals(conn, job_id)
            groups = await job_store.groups_used(conn, job_id)
        return _job(row, totals.total_calls, groups)

    async def complete(
        self,
        principal: Principal,
        job_id: str,
        request: JobComplete,
        *,
        idempotency_key: str | None = None,
    ) -> JobResult:
        """With ``idempotency_key``, a retry of a completion that went through (its answer
        lost on the way) gets that completion's result instead of a 409.

        The charge is always taken in full: what the calls used beyond what the team
        holds becomes debt (the balance goes below its floor by that much, and no new work
        starts until it is paid) instead of leaving a job open that nobody can close."""
        deadline = asyncio.get_running_loop().time() + self._complete_wait_s
        while True:
            if principal.budget_mode != "per_job":
                await self._wait_for_calls(job_id, deadline)
            await self._recorder.flush()
            try:
                async with self._engine.begin() as conn:
                    result = await self._complete(
                        conn,
                        principal,
                        job_id,
                        request,
                        utcnow(),
                        idempotency_key,
                        actor=f"key:{principal.key_id}",
                    )
                break
            except _CallStarted:
                continue  # rolled back: wait for the call that started meanwhile
            except IntegrityError as exc:
                # The ledger's unique (job_id, kind) caught a second charge that raced past
                # the status check; the whole transaction rolled back.
                raise JobAlreadyCompleted(f"job {job_id} is already completed") from exc
        self._remember(principal.team_id, job_id, result.status, None)
        self.forget_balance(principal.team_id)
        return result

    async def settle_abandoned(self, job_id: str, team_id: str, idle_s: float) -> bool:
        """Close a job no process has worked on for ``idle_s``: what its recorded calls used
        is charged by the team's budget mode (as for a cancelled job) and its holds are
        released. False when it was closed meanwhile, or a call of it runs here."""
        if self._running.get(job_id):
            return False
        await self._recorder.flush()
        async with self._engine.begin() as conn:
            principal = await team_principal(conn, team_id)
            if principal is None:
                return False
            # Calls whose process died mid-stream left their progress: what they served.
            await job_store.end_running_calls(
                conn, job_id, "the gateway stopped during the call; charged as last recorded"
            )
            request = JobComplete(
                status=JobStatus.CANCELLED,
                error_message=f"abandoned: no activity for {idle_s:g} s; settled by the gateway",
            )
            try:
                await self._complete(
                    conn,
                    principal,
                    job_id,
                    request,
                    utcnow(),
                    None,
                    actor="gateway:sweeper",
                    guard_running=True,
                )
            except (JobAlreadyCompleted, _CallStarted):
                return False
        self._job_cache.pop(job_id, None)
        self.forget_balance(team_id)
        return True

    async def _complete(
        self,
        conn: AsyncConnection,
        principal: Principal,
        job_id: str,
        request: JobComplete,
        now: datetime,
        idempotency_key: str | None,
        *,
        actor: str,
        guard_running: bool = False,
    ) -> JobResult:
        """``guard_running``: refuse to close while a call of the job runs here, whatever
        the budget mode (a sweep must never settle work in progress)."""
        values: dict[str, Any] = {
            "status": request.status,
            "completed_at": now,
            "complete_key": idempotency_key,
        }
        if request.error_message is not None:
            values["error_message"] = request.error_message
        # Closing first takes the job's row lock: a racing completer waits, then finds it closed.
        closed = await job_store.close_job(conn, principal.team_id, job_id, values)
        guarded = guard_running or principal.budget_mode != "per_job"
        if closed and guarded and self._running.get(job_id):
            # A call counted itself running after the wait and took its hold before this
            # close: closing now would release its hold under it. A call that counts itself
            # from here on finds the job closed when it tries to hold.
            raise _CallStarted(job_id)
        if not closed:
            row = await job_store.job_row(conn, principal.team_id, job_id)
            if row is None:
                raise JobNotFound(f"job {job_id} not found")
            if idempotency_key is not None and row.complete_key == idempotency_key:
                if row.status != request.status:
                    raise IdempotencyKeyReused(
                        f"Idempotency-Key {idempotency_key!r} completed the job as {row.status!r}"
                    )
                current = await ledger.balance_row(conn, principal.team_id)
                return await _result(
                    conn,
                    principal,
                    row,
                    charge=int(row.credits_charged),
                    remaining=current.balance if current else 0,
                )
            raise JobAlreadyCompleted(f"job {job_id} is already {row.status}")
        row = await job_store.job_row(conn, principal.team_id, job_id)
        totals = await job_store.call_totals(conn, job_id)
        usage = billing.Usage(totals.prompt_tokens, totals.completion_tokens, totals.cost_usd)
        if self._waive_upstream_failures:
            usage = billing.Usage(
                usage.prompt_tokens - totals.failed_prompt_tokens,
                usage.completion_tokens - totals.failed_completion_tokens,
                max(0.0, usage.cost_usd - totals.failed_cost_usd),
            )
        completed = request.status == JobStatus.COMPLETED
        charge = billing.job_charge(principal, completed, usage)
        changes: dict[str, Any] = {"credits_reserved": 0, "credits_charged": charge}
        if request.metadata:
            changes["metadata"] = {**(row.metadata or {}), **request.metadata}
        await job_store.update_job(conn, job_id, changes)
        # One statement charges the price and releases what the job held; no floor: a
        # charge beyond what the team holds is its debt.
        remaining = await ledger.move(
            conn,
            team_id=principal.team_id,
            amount=-charge,
            kind="job_charge",
            job_id=job_id,
            now=now,
            reason=_charge_reason(row.job_type, request.status, principal),
            actor=actor,
            floor=None,
            release=int(row.credits_reserved),
        )
        if remaining is None:
            raise JobNotFound(f"job {job_id} not found")
        row = await job_store.job_row(conn, principal.team_id, job_id)
        return await _result(conn, principal, row, charge=charge, remaining=remaining)


class _CallStarted(Exception):
    """A call of the job started while it was being closed (the close is rolled back)."""


def _charge_reason(job_type: str, status: str, principal: Principal) -> str:
    return f"job {job_type} {status} ({principal.budget_mode})"


async def _result(
    conn: AsyncConnection, principal: Principal, row: Any, *, charge: int, remaining: int
) -> JobResult:
    totals = await job_store.call_totals(conn, row.id)
    calls = await job_store.calls_of(conn, row.id)
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
        job_id=row.id,
        team_id=principal.team_id,
        status=row.status,
        completed_at=as_utc(row.completed_at),
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
