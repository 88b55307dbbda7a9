"""Creating and completing a job are safe to retry with an Idempotency-Key (both databases).

The SDK sends one key per logical request and reuses it on its retries; a
retry after a lost answer must neither open a second job (holding more
credits) nor turn a completed job into a 409.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin


async def test_a_retried_create_returns_the_same_job(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10, credits_per_job=2)
    key = {"Idempotency-Key": "create-once"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as client:
        answers = await asyncio.gather(
            *[
                client.post("/api/jobs/create", json={"job_type": "r"}, headers=key)
                for _ in range(5)
            ]
        )
        assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
        assert len({a.json()["job_id"] for a in answers}) == 1
        other = await client.post("/api/jobs/create", json={"job_type": "other"}, headers=key)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        fresh = await client.post("/api/jobs/create", json={"job_type": "r"})
        assert fresh.json()["job_id"] != answers[0].json()["job_id"]
    assert admin.get_team(team.team_id)["credits_reserved"] == 4  # two jobs, not six


async def test_a_retried_complete_returns_the_first_result(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10, credits_per_job=3)
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "r"})).json()["job_id"]
        call = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert call.status_code == 200
        path = f"/api/jobs/{job_id}/complete"
        key = {"Idempotency-Key": "complete-once"}
        first = await client.post(path, json={"status": "completed"}, headers=key)
        again = await client.post(path, json={"status": "completed"}, headers=key)
        assert first.status_code == again.status_code == 200, again.text
        assert again.json() == first.json()
        assert first.json()["credits_charged"] == 3
        assert first.json()["total_calls"] == 1
        changed = await client.post(path, json={"status": "failed"}, headers=key)
        assert changed.status_code == 409
        assert changed.json()["error"]["code"] == "idempotency_key_reused"
        other_key = await client.post(
            path, json={"status": "completed"}, headers={"Idempotency-Key": "another"}
        )
        no_key = await client.post(path, json={"status": "completed"})
        for refused in (other_key, no_key):
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "job_already_completed"
    charges = [
        row
        for row in await db.ledger(gateway.database_url, team.team_id)
        if row["kind"] == "job_charge"
    ]
    assert [(c["job_id"], c["amount"]) for c in charges] == [(job_id, -3)]
    assert await db.balance(gateway.database_url, team.team_id) == 7
