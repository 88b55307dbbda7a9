"""Read the gateway's database directly, to check what the API says against what is stored."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from saasllm_server.storage.tables import credit_ledger, jobs, llm_calls, team_balances


async def _rows(url: str, query: Any) -> list[dict[str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]
    finally:
        await engine.dispose()


async def ledger(url: str, team_id: str) -> list[dict[str, Any]]:
    return await _rows(
        url,
        select(credit_ledger)
        .where(credit_ledger.c.team_id == team_id)
        .order_by(credit_ledger.c.id),
    )


async def calls(
    url: str, team_id: str, count: int, *, within_s: float = 10.0
) -> list[dict[str, Any]]:
    """The team's call rows, once ``count`` of them are stored (or ``within_s`` passed).

    A call's record is handed over before its response ends, but on SQLite it is
    committed up to the recorder's batch window later; reads through the API wait
    for it, a direct read of the database waits here.
    """
    query = select(llm_calls).where(llm_calls.c.team_id == team_id).order_by(llm_calls.c.created_at)
    deadline = time.monotonic() + within_s
    while True:
        rows = await _rows(url, query)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.02)


async def job(url: str, job_id: str) -> dict[str, Any]:
    rows = await _rows(url, select(jobs).where(jobs.c.id == job_id))
    return rows[0]


async def balance(url: str, team_id: str) -> int:
    rows = await _rows(url, select(team_balances).where(team_balances.c.team_id == team_id))
    return int(rows[0]["balance"])
