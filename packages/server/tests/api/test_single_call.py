"""create-and-call(-stream): a job, its one call and its charge in one request."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from saasllm_testing.fake import answer_text
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin

POEM = "Write a short poem about Python"
BLOG = "Write a technical blog post about microservices (500 words)"


@pytest.fixture
def admin_sqlite(sqlite_gateway: GatewayProcess) -> Admin:
    return Admin(sqlite_gateway.url)


def _body(prompt: str = POEM, **extra: object) -> dict[str, object]:
    return {"job_type": "single", "messages": [{"role": "user", "content": prompt}], **extra}


def test_create_and_call_charges_once_and_reports_the_job(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=3)
    response = httpx.post(
        sqlite_gateway.url + "/api/jobs/create-and-call", json=_body(), headers=team.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert body["response"]["content"] == answer_text(POEM)
    assert body["choices"][0]["message"]["content"] == answer_text(POEM)
    assert body["credits_remaining"] == 2
    assert body["costs"]["total_calls"] == 1
    job = httpx.get(sqlite_gateway.url + f"/api/jobs/{body['job_id']}", headers=team.headers)
    assert job.json()["status"] == "completed"


def test_create_and_call_upstream_failure_charges_nothing(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=3)
    response = httpx.post(
        sqlite_gateway.url + "/api/jobs/create-and-call",
        json=_body(model="ratelimited"),
        headers=team.headers,
    )
    assert response.status_code == 429
    assert admin_sqlite.balance(team.team_id) == 3


async def test_create_and_call_stream_completes_the_job_when_the_stream_ends(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=3)
    async with (
        httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client,
        client.stream("POST", "/api/jobs/create-and-call-stream", json=_body()) as r,
    ):
        assert r.status_code == 200
        raw = (await r.aread()).decode()
    assert raw.endswith("data: [DONE]\n\n")
    assert admin_sqlite.balance(team.team_id) == 2


async def test_disconnect_closes_the_upstream_records_tokens_and_frees_the_slot(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin, fake_upstream: object
) -> None:
    """Read 3 of 100 chunks and hang up: the gateway must stop the upstream at once."""
    team = admin_sqlite.team(credits=3, max_concurrent_streams=1)
    upstream_url = fake_upstream.url  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
        stats_before = (await client.get(upstream_url + "/stats")).json()
        body = {"model": "slow", "max_tokens": 100, "messages": [{"role": "user", "content": BLOG}]}
        content = 0
        async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
            async for line in r.aiter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    content += 1
                if content == 3:
                    break
        hung_up = time.monotonic()
        closed_after = None
        while time.monotonic() - hung_up < 1.0:
            stats = (await client.get(upstream_url + "/stats")).json()
            if stats["streams_disconnected"] > stats_before["streams_disconnected"]:
                closed_after = time.monotonic() - hung_up
                break
            await asyncio.sleep(0.02)
        assert closed_after is not None, "the upstream kept streaming after the client left"
        # The slot is free again: a second stream is admitted right away.
        again = await client.post(
            f"/api/jobs/{job_id}/llm-call-stream",
            json={"messages": [{"role": "user", "content": POEM}]},
        )
        assert again.status_code == 200
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 2)
    cancelled = [c for c in calls if c["status"] == "cancelled"]
    assert len(cancelled) == 1
    assert 3 <= cancelled[0]["completion_tokens"] <= 4
    assert cancelled[0]["prompt_tokens"] > 0
