"""The ledger under contention on PostgreSQL: 300 jobs, 8 connections, 100 credits.

Every worker holds (creates a job), calls and completes as fast as it can; the
team may only ever spend what it holds. Afterwards the balance is exactly zero,
the ledger accounts for every credit, no balance was ever negative and no job
was charged twice. A top-up retried with its Idempotency-Key applies once.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.support import db
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin

JOBS = 300
CONNECTIONS = 8
CREDITS = 100
MESSAGES = [{"role": "user", "content": "race"}]


async def _worker(
    client: httpx.AsyncClient, tickets: asyncio.Queue[int], outcomes: Counter[str]
) -> None:
    while True:
        try:
            tickets.get_nowait()
        except asyncio.QueueEmpty:
            return
        created = await client.post("/api/jobs/create", json={"job_type": "race"})
        if created.status_code == 403:
            assert created.json()["error"]["code"] == "insufficient_credits"
            outcomes["refused"] += 1
            continue
        assert created.status_code == 200, created.text
        job_id = created.json()["job_id"]
        call = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES, "max_tokens": 3}
        )
        # The call's hold may not fit once the credits run low: the job still completes
        # (and costs its minimum of one credit).
        assert call.status_code in (200, 403), call.text
        outcomes["called" if call.status_code == 200 else "call_refused"] += 1
        done = await client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
        assert done.json()["credits_charged"] == 1
        outcomes["charged"] += 1


# SQLite serialises writers anyway; concurrent transactions are PostgreSQL's case.
@pytest.mark.parametrize("gateway", ["postgres"], indirect=True)
async def test_three_hundred_jobs_on_one_hundred_credits(
    gateway: GatewayProcess, admin: Admin
) -> None:
    pg_gateway = gateway
    team = admin.team(credits=CREDITS, budget_mode="per_token", tokens_per_credit=1000)
    tickets: asyncio.Queue[int] = asyncio.Queue()
    for n in range(JOBS):
        tickets.put_nowait(n)
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(
        base_url=pg_gateway.url, headers=team.headers, timeout=60, limits=limits
    ) as client:
        await asyncio.gather(*[_worker(client, tickets, outcomes) for _ in range(CONNECTIONS)])

    assert outcomes["charged"] == CREDITS, outcomes
    assert outcomes["charged"] + outcomes["refused"] == JOBS
    assert await db.balance(pg_gateway.database_url, team.team_id) == 0
    view = admin.get_team(team.team_id)
    assert view["credits_reserved"] == 0

    ledger = await db.ledger(pg_gateway.database_url, team.team_id)
    assert sum(row["amount"] for row in ledger) == 0  # the grant of 100, then 100 charges
    assert all(row["balance_after"] >= 0 for row in ledger)
    assert all(row["balance_before"] - row["balance_after"] == -row["amount"] for row in ledger)
    # The balance after each entry, in ledger order, walks down one credit at a time.
    charges = [row for row in ledger if row["kind"] == "job_charge"]
    assert sorted(row["balance_after"] for row in charges) == list(range(CREDITS))
    charged_jobs = [row["job_id"] for row in charges]
    assert len(set(charged_jobs)) == len(charged_jobs) == CREDITS

    # A top-up whose response was lost is retried with the same key, even concurrently.
    async with httpx.AsyncClient(
        base_url=pg_gateway.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    ) as operator:
        key = {"Idempotency-Key": f"topup-{team.team_id}"}
        path = f"/admin/teams/{team.team_id}/credits/topup"
        answers = await asyncio.gather(
            *[operator.post(path, json={"amount": 25}, headers=key) for _ in range(5)]
        )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        reused = await operator.post(path, json={"amount": 26}, headers=key)
        assert reused.status_code == 409
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await db.balance(pg_gateway.database_url, team.team_id) == 25
    topups = [
        row
        for row in await db.ledger(pg_gateway.database_url, team.team_id)
        if row["kind"] == "topup"
    ]
    assert len(topups) == 1
