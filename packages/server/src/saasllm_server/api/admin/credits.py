"""Moving credits: allocations, top-ups, adjustments and refunds, each a ledger entry.

Every endpoint takes an ``Idempotency-Key`` header: a retry with the same key
(after a timeout, say) returns the entry the first request made instead of
moving the credits again, and the same key with a different change is 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sqlalchemy.exc import IntegrityError

from saasllm_schema import (
    Balance,
    CreditAdjustment,
    CreditChange,
    CreditGrant,
    ErrorBody,
    LedgerEntry,
    Page,
)
from saasllm_server.api.admin.auth import Biller, Reader
from saasllm_server.api.admin.cursors import int_cursor, page_of
from saasllm_server.api.admin.tenancy import load_team
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.jobs import parse_job_id
from saasllm_server.errors import AlreadyRefunded, IdempotencyKeyReused, InvalidRequest, NotFound
from saasllm_server.services import Gateway
from saasllm_server.storage import audit, ledger
from saasllm_server.storage import jobs as job_store
from saasllm_server.storage.database import as_utc, utcnow

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retries with the same key apply the change once.",
    ),
]


def entry_view(row: Any) -> LedgerEntry:
    before = row.balance_before
    return LedgerEntry(
        id=int(row.id),
        team_id=row.team_id,
        kind=row.kind,
        amount=int(row.amount),
        balance_before=int(row.balance_after) - int(row.amount) if before is None else int(before),
        balance_after=int(row.balance_after),
        reason=row.reason,
        actor=row.actor,
        job_id=row.job_id,
        idempotency_key=row.idempotency_key,
        created_at=as_utc(row.created_at),
    )


async def _replayed(
    gw: Gateway, team_id: str, key: str, kind: str, amount: int, job_id: str | None
) -> LedgerEntry | None:
    async with gw.engine.connect() as conn:
        row = await ledger.by_idempotency_key(conn, team_id, key)
    if row is None:
        return None
    if row.kind != kind or int(row.amount) != amount or row.job_id != job_id:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for a different change ({row.kind} {row.amount})"
        )
    return entry_view(row)


async def _apply(
    gw: Gateway,
    *,
    team_id: str,
    kind: str,
    amount: int,
    reason: str,
    actor: str,
    key: str | None,
    job_id: str | None = None,
) -> LedgerEntry:
    team = await load_team(gw, team_id)
    if key is not None:
        replay = await _replayed(gw, team_id, key, kind, amount, job_id)
        if replay is not None:
            return replay
    now = utcnow()
    try:
        async with gw.engine.begin() as conn:
            if job_id is not None:
                job = await job_store.job_row(conn, team_id, job_id)
                if job is None:
                    raise NotFound(f"job {job_id} not found")
                if amount > int(job.credits_charged):
                    raise InvalidRequest(
                        f"a refund cannot exceed the job's charge ({job.credits_charged})",
                        param="amount",
                    )
            balance = await ledger.move(
                conn,
                team_id=team_id,
                amount=amount,
                kind=kind,
                now=now,
                job_id=job_id,
                reason=reason,
                actor=actor,
                floor=-team.overdraft_limit,
                idempotency_key=key,
            )
            if balance is None:
                raise InvalidRequest(
                    "the change would take the balance below "
                    + ("zero" if not team.overdraft_limit else "the overdraft limit"),
                    param="amount",
                )
            row = await ledger.last_entry(conn, team_id)
            await audit.record(
                conn,
                actor=actor,
                action=f"credits.{kind}",
                target=f"team:{team_id}",
                details={"amount": amount, "reason": reason, "job_id": job_id, "entry": row.id},
                now=now,
            )
    except IntegrityError:
        # A concurrent request with the same key, or a second refund of the job, won.
        if key is not None:
            replay = await _replayed(gw, team_id, key, kind, amount, job_id)
            if replay is not None:
                return replay
        raise AlreadyRefunded(f"job {job_id} was already refunded") from None
    gw.jobs.forget_balance(team_id)
    return entry_view(row)


@router.post("/teams/{team_id}/credits/allocate", response_model=LedgerEntry)
async def allocate_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Grant credits under an agreement (a plan's monthly allocation, say)."""
    return await _apply(
        gw,
        team_id=team_id,
        kind="allocation",
        amount=body.amount,
        reason=body.reason,
        actor=actor.name,
        key=key,
    )


@router.post("/teams/{team_id}/credits/topup", response_model=LedgerEntry)
async def top_up_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Add purchased credits."""
    return await _apply(
        gw,
        team_id=team_id,
        kind="topup",
        amount=body.amount,
        reason=body.reason,
        actor=actor.name,
        key=key,
    )


@router.post("/teams/{team_id}/credits/adjust", response_model=LedgerEntry)
async def adjust_credits(
    team_id: str,
    body: CreditAdjustment,
    gw: GatewayDep,
    actor: Biller,
    key: IdempotencyKey = None,
) -> LedgerEntry:
    """Correct a balance either way (a reason is required); never below the overdraft limit."""
    return await _apply(
        gw,
        team_id=team_id,
        kind="adjustment",
        amount=body.amount,
        reason=body.reason,
        actor=actor.name,
        key=key,
    )


@router.post("/teams/{team_id}/credits/refund", response_model=LedgerEntry)
async def refund_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Give credits back; with ``job_id``, at most that job's charge, once per job."""
    job_id = None if body.job_id is None else parse_job_id(body.job_id)
    return await _apply(
        gw,
        team_id=team_id,
        kind="job_refund" if job_id else "refund",
        amount=body.amount,
        reason=body.reason,
        actor=actor.name,
        key=key,
        job_id=job_id,
    )


@router.post("/teams/{team_id}/credits", response_model=Balance)
async def change_credits(
    team_id: str, body: CreditChange, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> Balance:
    """The short form: a positive amount tops up, a negative one adjusts down."""
    if body.amount == 0:
        raise InvalidRequest("amount must not be 0", param="amount")
    entry = await _apply(
        gw,
        team_id=team_id,
        kind="topup" if body.amount > 0 else "adjustment",
        amount=body.amount,
        reason=body.reason,
        actor=actor.name,
        key=key,
    )
    return Balance(team_id=team_id, credits_remaining=entry.balance_after)


@router.get("/teams/{team_id}/ledger", response_model=Page[LedgerEntry])
async def team_ledger(
    team_id: str,
    gw: GatewayDep,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[LedgerEntry]:
    """Newest first."""
    await load_team(gw, team_id)
    before = None if cursor is None else int_cursor(cursor)
    async with gw.engine.connect() as conn:
        rows = await ledger.entries(conn, team_id, before_id=before, limit=limit + 1)
    return page_of(rows, limit, entry_view, lambda row: (int(row.id),))
