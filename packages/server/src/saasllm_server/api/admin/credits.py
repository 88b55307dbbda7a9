"""Moving credits (``domain.credits``): allocations, top-ups, adjustments and refunds.

Every endpoint takes an ``Idempotency-Key`` header: a retry with the same key
(after a timeout, say) returns the entry the first request made instead of
moving the credits again, and the same key with a different change is 409.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

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
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.jobs import parse_job_id
from saasllm_server.errors import InvalidRequest

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


@router.post("/teams/{team_id}/credits/allocate", response_model=LedgerEntry)
async def allocate_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Grant credits under an agreement (a plan's monthly allocation, say)."""
    return await gw.credits.move(actor.name, team_id, "allocation", body.amount, body.reason, key)


@router.post("/teams/{team_id}/credits/topup", response_model=LedgerEntry)
async def top_up_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Add purchased credits."""
    return await gw.credits.move(actor.name, team_id, "topup", body.amount, body.reason, key)


@router.post("/teams/{team_id}/credits/adjust", response_model=LedgerEntry)
async def adjust_credits(
    team_id: str, body: CreditAdjustment, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Correct a balance either way (a reason is required); never below the overdraft limit."""
    return await gw.credits.move(actor.name, team_id, "adjustment", body.amount, body.reason, key)


@router.post("/teams/{team_id}/credits/refund", response_model=LedgerEntry)
async def refund_credits(
    team_id: str, body: CreditGrant, gw: GatewayDep, actor: Biller, key: IdempotencyKey = None
) -> LedgerEntry:
    """Give credits back; with ``job_id``, at most that job's charge, once per job."""
    job_id = None if body.job_id is None else parse_job_id(body.job_id)
    return await gw.credits.move(
        actor.name,
        team_id,
        kind="job_refund" if job_id else "refund",
        amount=body.amount,
        reason=body.reason,
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
    entry = await gw.credits.move(
        actor.name,
        team_id,
        kind="topup" if body.amount > 0 else "adjustment",
        amount=body.amount,
        reason=body.reason,
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
    return await gw.credits.ledger_page(team_id, limit=limit, cursor=cursor)
