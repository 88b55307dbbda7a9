"""Moving credits: allocations, top-ups, adjustments and refunds, each a ledger entry.

Every move may carry an Idempotency-Key: a retry with the same key (after a
timeout, say) gets the entry the first request made instead of moving the
credits again, and the same key with a different change is 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from saasllm_schema import LedgerEntry, Page
from saasllm_server.domain import idempotency
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.paging import int_cursor, page_of
from saasllm_server.domain.teams import TenancyService
from saasllm_server.domain.writes import ChangeWriter
from saasllm_server.errors import AlreadyRefunded, IdempotencyKeyReused, InvalidRequest, NotFound
from saasllm_server.storage import jobs as job_store
from saasllm_server.storage import ledger
from saasllm_server.storage.database import as_utc


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


class CreditService:
    def __init__(self, writer: ChangeWriter, tenancy: TenancyService) -> None:
        self._writer = writer
        self._engine = writer.engine
        self._tenancy = tenancy

    async def move(
        self,
        actor: str,
        team_id: str,
        kind: str,
        amount: int,
        reason: str,
        key: str | None,
        job_id: str | None = None,
    ) -> LedgerEntry:
        """One ledger entry of ``kind``; a refund with ``job_id`` is at most that job's
        charge, once per job. Never takes the balance below the overdraft limit."""
        team = await self._tenancy.team(team_id)

        async def earlier(key: str) -> LedgerEntry | None:
            async with self._engine.connect() as conn:
                row = await ledger.by_idempotency_key(conn, team_id, key)
            if row is None:
                return None
            if row.kind != kind or int(row.amount) != amount or row.job_id != job_id:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was used for a different change"
                    f" ({row.kind} {row.amount})"
                )
            return entry_view(row)

        async def first() -> LedgerEntry:
            async with self._writer.change(
                actor=actor,
                action=f"credits.{kind}",
                target=f"team:{team_id}",
                details={"amount": amount, "reason": reason, "job_id": job_id},
                event=Change(ChangeKind.BALANCE, team_id),
            ) as write:
                if job_id is not None:
                    job = await job_store.job_row(write.conn, team_id, job_id)
                    if job is None:
                        raise NotFound(f"job {job_id} not found")
                    if amount > int(job.credits_charged):
                        raise InvalidRequest(
                            f"a refund cannot exceed the job's charge ({job.credits_charged})",
                            param="amount",
                        )
                balance = await ledger.move(
                    write.conn,
                    team_id=team_id,
                    amount=amount,
                    kind=kind,
                    now=write.now,
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
                row = await ledger.last_entry(write.conn, team_id)
                write.details["entry"] = row.id
            return entry_view(row)

        try:
            return await idempotency.once(key, earlier, first)
        except IntegrityError:
            # Without a key (or with one nobody holds) the unique index that fired is the
            # one refund per job.
            raise AlreadyRefunded(f"job {job_id} was already refunded") from None

    async def ledger_page(
        self, team_id: str, *, limit: int, cursor: str | None
    ) -> Page[LedgerEntry]:
        """Newest first."""
        await self._tenancy.team(team_id)
        before = None if cursor is None else int_cursor(cursor)
        async with self._engine.connect() as conn:
            rows = await ledger.entries(conn, team_id, before_id=before, limit=limit + 1)
        return page_of(rows, limit, entry_view, lambda row: (int(row.id),))
