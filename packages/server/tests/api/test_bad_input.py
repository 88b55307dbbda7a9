"""Nothing a client sends produces a 500, and a refused request moves no credit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

JSON = {"Content-Type": "application/json"}
MSG = [{"role": "user", "content": "hi"}]

# (name, method, path template, body (bytes or JSON), status, error code)
CASES: list[tuple[str, str, str, Any, int, str]] = [
    ("malformed json", "POST", "/api/jobs/{job}/llm-call", b'{"messages": [', 422, "invalid_json"),
    ("json array body", "POST", "/api/jobs/{job}/llm-call", [1, 2], 422, "validation_error"),
    (
        "messages not a list",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": "hi"},
        422,
        "validation_error",
    ),
    (
        "empty messages",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": []},
        422,
        "validation_error",
    ),
    (
        "unknown role",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": [{"role": "wizard", "content": "x"}]},
        422,
        "validation_error",
    ),
    (
        "message without content",
        "POST",
        "/api/jobs/{job}/llm-call-stream",
        {"messages": [{"role": "user"}]},
        422,
        "validation_error",
    ),
    (
        "temperature out of range",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": MSG, "temperature": 9},
        422,
        "validation_error",
    ),
    (
        "max_tokens wrong type",
        "POST",
        "/api/jobs/{job}/llm-call-stream",
        {"messages": MSG, "max_tokens": "lots"},
        422,
        "validation_error",
    ),
    (
        "unknown model group",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": MSG, "model": "no-such-group"},
        404,
        "model_group_not_found",
    ),
    (
        "unknown model group (stream)",
        "POST",
        "/api/jobs/{job}/llm-call-stream",
        {"messages": MSG, "model_group": "no-such-group"},
        404,
        "model_group_not_found",
    ),
    (
        "conflicting model names",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": MSG, "model": "default", "model_group": "slow"},
        422,
        "validation_error",
    ),
    (
        "job id not a uuid",
        "POST",
        "/api/jobs/not-a-uuid/llm-call",
        {"messages": MSG},
        422,
        "validation_error",
    ),
    ("job id not a uuid (get)", "GET", "/api/jobs/1234", None, 422, "validation_error"),
    (
        "unknown job",
        "POST",
        f"/api/jobs/{uuid.uuid4()}/complete",
        {"status": "completed"},
        404,
        "job_not_found",
    ),
    (
        "bad completion status",
        "POST",
        "/api/jobs/{job}/complete",
        {"status": "done-ish"},
        422,
        "validation_error",
    ),
    (
        "completion status wrong type",
        "POST",
        "/api/jobs/{job}/complete",
        {"status": 7},
        422,
        "validation_error",
    ),
    ("missing job_type", "POST", "/api/jobs/create", {"metadata": {}}, 422, "validation_error"),
    (
        "job_type too long",
        "POST",
        "/api/jobs/create",
        {"job_type": "x" * 500},
        422,
        "validation_error",
    ),
    (
        "metadata not an object",
        "POST",
        "/api/jobs/create",
        {"job_type": "x", "metadata": [1]},
        422,
        "validation_error",
    ),
    (
        "huge body",
        "POST",
        "/api/jobs/{job}/llm-call",
        {"messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]},
        413,
        "body_too_large",
    ),
    ("unknown route", "GET", "/api/nope", None, 404, "not_found"),
    ("wrong method", "DELETE", "/api/jobs/create", None, 405, "method_not_allowed"),
]


@pytest.fixture
def job(gateway: GatewayProcess, team: TeamHandle) -> str:
    response = httpx.post(
        gateway.url + "/api/jobs/create", json={"job_type": "bad-input"}, headers=team.headers
    )
    job_id: str = response.json()["job_id"]
    return job_id


def _send(
    client: httpx.Client, method: str, path: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers={**JSON, **(headers or {})})
    if body is None:
        return client.request(method, path, headers=headers)
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
async def test_malformed_request_gets_its_status_and_moves_no_credit(
    gateway: GatewayProcess,
    team: TeamHandle,
    job: str,
    name: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    before = await db.ledger(gateway.database_url, team.team_id)
    with httpx.Client(base_url=gateway.url, headers=team.headers, timeout=30) as client:
        response = _send(client, method, path.format(job=job), body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) >= {"type", "code", "message"}
    assert error["message"]
    assert await db.ledger(gateway.database_url, team.team_id) == before
    assert await db.calls(gateway.database_url, team.team_id, 0) == []


def _chunks(total: int, size: int = 65536) -> Iterator[bytes]:
    sent = 0
    yield b'{"messages": [{"role": "user", "content": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}]}'


def test_huge_chunked_body_is_413(gateway: GatewayProcess, team: TeamHandle, job: str) -> None:
    with httpx.Client(base_url=gateway.url, headers=team.headers, timeout=30) as client:
        response = client.post(
            f"/api/jobs/{job}/llm-call", content=_chunks(6 * 1024 * 1024), headers=JSON
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer sk-wrong"}, "invalid_api_key"),
        ({"Authorization": "Basic abc"}, "invalid_api_key"),
        ({"Authorization": "Bearer"}, "invalid_api_key"),
    ],
)
def test_bad_credentials_are_401(
    gateway: GatewayProcess, job: str, headers: dict[str, str], code: str
) -> None:
    for method, path, body in [
        ("POST", "/api/jobs/create", {"job_type": "x"}),
        ("GET", f"/api/jobs/{job}", None),
        ("POST", f"/api/jobs/{job}/llm-call-stream", {"messages": MSG}),
        ("POST", f"/api/jobs/{job}/complete", b"{not json"),
    ]:
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            response = _send(client, method, path, body, headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["code"] == code


def test_admin_api_refuses_team_keys_and_strangers(
    gateway: GatewayProcess, team: TeamHandle, admin: Admin
) -> None:
    path = f"/admin/teams/{team.team_id}/credits"
    body = {"amount": 1000}
    assert httpx.post(gateway.url + path, json=body).status_code == 401
    assert httpx.post(gateway.url + path, json=body, headers=team.headers).status_code == 403
    assert (
        httpx.post(gateway.url + path, json=body, headers={"Authorization": "Bearer x"}).status_code
        == 401
    )
    assert admin.balance(team.team_id) == 100
