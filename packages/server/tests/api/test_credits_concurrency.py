"""Charging exactly once under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin


async def test_fifty_simultaneous_completes_charge_one_credit(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=team.headers, timeout=60, limits=limits
    ) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "race"})).json()["job_id"]
        responses = await asyncio.gather(
            *[
                client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
                for _ in range(50)
            ]
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 49, statuses
    assert admin.balance(team.team_id) == 9
    charges = [
        row
        for row in await db.ledger(gateway.database_url, team.team_id)
        if row["kind"] == "job_charge"
    ]
    assert len(charges) == 1
    assert charges[0]["job_id"] == job_id
    assert charges[0]["amount"] == -1


async def test_two_hundred_jobs_on_one_hundred_credits_end_at_zero(
    gateway: GatewayProcess, admin: Admin
) -> None:
    """Creating a job holds its price, so only as many jobs open as the team can pay for."""
    team = admin.team(credits=100)
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=team.headers, timeout=120, limits=limits
    ) as client:
        created = await asyncio.gather(
            *[client.post("/api/jobs/create", json={"job_type": "bulk"}) for _ in range(200)]
        )
        statuses = [r.status_code for r in created]
        assert statuses.count(200) == 100, sorted(statuses)
        assert statuses.count(403) == 100
        assert all(
            r.json()["error"]["code"] == "insufficient_credits"
            for r in created
            if r.status_code == 403
        )
        job_ids = [r.json()["job_id"] for r in created if r.status_code == 200]
        completed = await asyncio.gather(
            *[
                client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
                for job_id in job_ids
            ]
        )
    assert all(r.status_code == 200 for r in completed), [r.text for r in completed][:3]
    remaining = [r.json()["credits_remaining"] for r in completed]
    assert sorted(remaining) == list(range(100))
    assert await db.balance(gateway.database_url, team.team_id) == 0
    assert admin.get_team(team.team_id)["credits_reserved"] == 0

    ledger = await db.ledger(gateway.database_url, team.team_id)
    assert sum(row["amount"] for row in ledger) == 0
    assert all(row["balance_after"] >= 0 for row in ledger)
    charged = [row["job_id"] for row in ledger if row["kind"] == "job_charge"]
    assert len(charged) == len(set(charged)) == 100
