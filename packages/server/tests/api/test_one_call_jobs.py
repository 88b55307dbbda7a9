"""One-call jobs (``create-and-call*`` and ``/v1`` without ``X-Job-Id``) always settle.

Nobody but the gateway knows such a job's id, so every outcome must close it:
answered (also an answer the client walked away from, or one the upstream broke off
after some content) is completed and charged; an upstream failure before any content
is failed and free; a refused group makes no job at all.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

BLOG = "Write a technical blog post about microservices (500 words)"


@pytest.fixture
def admin_sqlite(sqlite_gateway: GatewayProcess) -> Admin:
    return Admin(sqlite_gateway.url)


def _jobs(admin: Admin, team: TeamHandle) -> list[dict[str, Any]]:
    response = admin.http.get("/admin/jobs", params={"team_id": team.team_id})
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["data"]
    return jobs


async def _settled(admin: Admin, team: TeamHandle, within_s: float = 10.0) -> dict[str, Any]:
    """The team's only job, once it is closed (a stream's job settles after its response)."""
    deadline = time.monotonic() + within_s
    while True:
        jobs = _jobs(admin, team)
        assert len(jobs) == 1, jobs
        if jobs[0]["status"] not in ("pending", "in_progress") or time.monotonic() > deadline:
            return jobs[0]
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("path", ["/api/jobs/create-and-call-stream", "/v1/chat/completions"])
async def test_a_stream_the_client_walked_away_from_is_completed_and_charged(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin, path: str
) -> None:
    team = admin_sqlite.team(credits=3)
    body = {
        "job_type": "walk-away",
        "model": "slow",
        "max_tokens": 60,
        "stream": True,
        "messages": [{"role": "user", "content": BLOG}],
    }
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        received = 0
        async with client.stream("POST", path, json=body) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    received += 1
                if received == 3:
                    break
    job = await _settled(admin_sqlite, team)
    assert job["status"] == "completed"
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert [c["status"] for c in calls] == ["cancelled"]
    assert admin_sqlite.balance(team.team_id) == 2


@pytest.mark.parametrize("path", ["/api/jobs/create-and-call-stream", "/v1/chat/completions"])
async def test_a_stream_the_upstream_broke_after_content_is_completed_and_charged(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin, path: str
) -> None:
    team = admin_sqlite.team(credits=3)
    body = {
        "job_type": "cut",
        "model": "cut",
        "stream": True,
        "messages": [{"role": "user", "content": "Explain Docker containers"}],
    }
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 200
    assert "event: error\n" in response.text
    # The client got text before the break (issue 11: it used to be free).
    job = await _settled(admin_sqlite, team)
    assert job["status"] == "completed"
    assert admin_sqlite.balance(team.team_id) == 2


@pytest.mark.parametrize(
    ("path", "model", "status"),
    [
        ("/api/jobs/create-and-call", "secret", 403),
        ("/api/jobs/create-and-call-stream", "no-such-group", 404),
        ("/v1/chat/completions", "secret", 403),
        ("/v1/chat/completions", "no-such-group", 404),
    ],
)
def test_a_group_the_team_may_not_use_makes_no_job(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin, path: str, model: str, status: int
) -> None:
    team = admin_sqlite.team(credits=3)
    body = {"job_type": "refused", "model": model, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(sqlite_gateway.url + path, json=body, headers=team.headers)
    assert response.status_code == status, response.text
    assert _jobs(admin_sqlite, team) == []
    assert admin_sqlite.balance(team.team_id) == 3
