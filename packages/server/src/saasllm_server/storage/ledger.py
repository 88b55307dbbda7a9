"""Credit movements: one conditional update of the balance plus one ledger row, together.

The conditional update (the balance may not go below zero) is what keeps a balance
from going negative under concurrency; the ledger's unique ``(job_id, kind)`` is what
keeps a job from being charged twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_server.storage.tables import credit_ledger, team_balances


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
) -> int | None:
    """Add ``amount`` (negative: take it) unless the balance would drop below zero.

    Returns the new balance, or None when the team does not hold enough (or does not
    exist); nothing is written then.
    """
    result = await conn.execute(
        update(team_balances)
        .where(team_balances.c.team_id == team_id, team_balances.c.balance + amount >= 0)
        .values(balance=team_balances.c.balance + amount, updated_at=now)
        .returning(team_balances.c.balance)
    )
    balance = result.scalar()
    if balance is None:
        return None
    await conn.execute(
        insert(credit_ledger).values(
            team_id=team_id,
            job_id=job_id,
            kind=kind,
            amount=amount,
            balance_after=int(balance),
            reason=reason,
            actor=actor,
            created_at=now,
        )
    )
    return int(balance)
