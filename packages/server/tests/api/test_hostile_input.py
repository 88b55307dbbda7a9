"""Input built to break storage or parsing is a clear 4xx on both databases, never a 500.

PostgreSQL cannot store or compare text holding a NUL; Python's ``int()`` refuses some
strings that ``str.isdigit()`` accepts; dates can overflow when moved to UTC.
"""

from __future__ import annotations

import base64
import json
import uuid

import httpx

from tests.support import db
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin

MESSAGES = [{"role": "user", "content": "hi"}]


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([value]).encode()).decode().rstrip("=")


async def test_nul_characters_are_refused_before_anything_is_stored(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as client:
        bad_create = await client.post("/api/jobs/create", json={"job_type": "a\u0000b"})
        job_id = (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
        answers = [
            bad_create,
            await client.post(
                f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES, "user": "u\u0000"}
            ),
            await client.post(
                f"/api/jobs/{job_id}/llm-call-stream",
                json={"messages": MESSAGES, "user": "u\u0000"},
            ),
            await client.post(
                f"/api/jobs/{job_id}/complete",
                json={"status": "failed", "error_message": "boom\u0000"},
            ),
            await client.get(f"/api/jobs/{job_id}%00"),
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["type"] == "invalid_request_error"
    operator = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=operator) as client:
        for path in (f"/admin/teams/{team.team_id}%00", "/admin/jobs?team_id=x%00"):
            answer = await client.get(path)
            assert answer.status_code == 422, (path, answer.text)
    assert await db.calls(gateway.database_url, team.team_id, 0) == []
    assert admin.get_team(team.team_id)["credits_remaining"] == 10


async def test_malformed_resume_ids_cursors_and_dates_are_client_errors(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    job = f"/api/jobs/{uuid.uuid4()}/llm-call-stream"
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as client:
        # b"\xb2" is a superscript two in latin-1: str.isdigit() says yes, int() says no.
        for last_event_id in (b"x:\xb2", b"x:" + b"9" * 5000, b"x:-1", b":5"):
            answer = await client.post(
                job, json={"messages": MESSAGES}, headers={b"Last-Event-ID": last_event_id}
            )
            assert answer.status_code == 422, (last_event_id[:20], answer.text)
        long_type = await client.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": MESSAGES},
            headers={"X-Job-Type": "t" * 101},
        )
        assert long_type.status_code == 422, long_type.text
    operator = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=operator) as client:
        for path in (
            f"/admin/teams/{team.team_id}/ledger?cursor={_cursor(True)}",
            f"/admin/teams/{team.team_id}/ledger?cursor={_cursor(2**64 - 1)}",
            f"/admin/audit?cursor={_cursor('x')}",
            "/admin/jobs?cursor=%%%",
            f"/admin/jobs?cursor={_cursor('not-a-date')}",
            "/admin/usage?start=9999-12-31T23:59:59-01:00",
            "/admin/jobs?end=0001-01-01T00:00:00%2B01:00",
            "/admin/usage?start=2026-01-01T00:00:00",
        ):
            answer = await client.get(path)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"] == "validation_error"
