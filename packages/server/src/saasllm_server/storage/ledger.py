"""Credit movements and holds, each one conditional statement on the team's balance row.

A balance moves only together with an append-only ledger row (before, after,
kind, reason, actor). The conditions live in the ``UPDATE``'s ``WHERE``, so two
replicas racing for the last credit cannot both win; the ledger's unique
``(job_id, kind)`` keeps a job from being charged twice and its unique
``(team_id, idempotency_key)`` keeps a retried top-up from applying twice.

Holds (``reserved``) are not money: they only lower what new work may start
with (available = balance - reserved + overdraft limit), so they are not in the
ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_server.storage.tables import credit_ledger, team_balances


@dataclass(frozen=True, slots=True)
class Held:
    balance: int
    reserved: int


async def move(
    conn: AsyncConnection,
    *,
    team_id: str,
    amount: int,
    kind: str,
    now: datetime,
    job_id: str | None = None,
    reason: str = "",
    actor: str = "",
    floor: int | None = 0,
    release: int = 0,
    idempotency_key: str | None = None,
) -> int | None:
    """Add ``amount`` (negative: take it) unless the balance would drop below ``floor``
    (None: no floor, for charges that must be taken whole), releasing ``release`` held
    credits in the same statement.

    Returns the new balance, or None when the team does not hold enough (or does not
    exist); nothing is written then.
    """
    # Only taking credits is bounded: a top-up or a release must work even for a team
    # already below a floor that was lowered after it went there.
    bounded = amount < 0 and floor is not None
    condition = team_balances.c.balance + amount >= floor if bounded else true()
    result = await conn.execute(
        update(team_balances)
        .where(team_balances.c.team_id == team_id, condition)
        .values(
            balance=team_balances.c.balance + amount,
            reserved=team_balances.c.reserved - release,
            updated_at=now,
        )
        .returning(team_balances.c.balance)
    )
    balance = result.scalar()
    if balance is None:
        return None
    if amount:
        await conn.execute(
            insert(credit_ledger).values(
                team_id=team_id,
                job_id=job_id,
                kind=kind,
                amount=amount,
                balance_before=int(balance) - amount,
                balance_after=int(balance),
                reason=reason,
                actor=actor,
                idempotency_key=idempotency_key,
                created_at=now,
            )
        )
    return int(balance)


async def hold(
    conn: AsyncConnection, *, team_id: str, amount: int, need: int, overdraft_limit: int
) -> Held | None:
    """Hold ``amount`` credits if at least ``need`` are available; None (nothing held)
    otherwise."""
    available = team_balances.c.balance - team_balances.c.reserved + overdraft_limit
    result = await conn.execute(
        update(team_balances)
        .where(team_balances.c.team_id == team_id, available >= need)
        .values(reserved=team_balances.c.reserved + amount)
        .returning(team_balances.c.balance, team_balances.c.reserved)
    )
    row = result.first()
    return None if row is None else Held(int(row.balance), int(row.reserved))


async def release(conn: AsyncConnection, *, team_id: str, amount: int) -> None:
    if amount:
        await conn.execute(
            update(team_balances)
            .where(team_balances.c.team_id == team_id)
            .values(reserved=team_balances.c.reserved - amount)
        )


async def balance_row(conn: AsyncConnection, team_id: str) -> Held | None:
    row = (
        await conn.execute(
            select(team_balances.c.balance, team_balances.c.reserved).where(
                team_balances.c.team_id == team_id
            )
        )
    ).first()
    return None if row is None else Held(int(row.balance), int(row.reserved))


async def by_idempotency_key(conn: AsyncConnection, team_id: str, key: str) -> Any:
    return (
        await conn.execute(
            select(credit_ledger).where(
                and_(credit_ledger.c.team_id == team_id, credit_ledger.c.idempotency_key == key)
            )
        )
    ).first()


async def entry(conn: AsyncConnection, entry_id: int) -> Any:
    return (await conn.execute(select(credit_ledger).where(credit_ledger.c.id == entry_id))).first()


async def last_entry(conn: AsyncConnection, team_id: str) -> Any:
    return (
        await conn.execute(
            select(credit_ledger)
            .where(credit_ledger.c.team_id == team_id)
            .order_by(credit_ledger.c.id.desc())
            .limit(1)
        )
    ).first()


async def entries(
    conn: AsyncConnection, team_id: str, *, before_id: int | None, limit: int
) -> list[Any]:
    query = select(credit_ledger).where(credit_ledger.c.team_id == team_id)
    if before_id is not None:
        query = query.where(credit_ledger.c.id < before_id)
    query = query.order_by(credit_ledger.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).all())
