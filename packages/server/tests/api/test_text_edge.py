"""Text the upstream cannot take is refused at the edge (issue 11), on SQLite and PostgreSQL.

A lone UTF-16 surrogate spelled in JSON (``"a\\ud800b"``) used to reach the upstream
request's serialiser (a 500, after credits were held) or the database driver. Now every
text field of every route that takes a body answers 422 with the field named in
``param``, moves no credit and creates nothing. ``/v1`` answers 422 too: it reports every
validation error with 422 today (a change to OpenAI's 400 is issue 15's).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

MARK = "@@BAD@@"
LONE = rb"a\ud800b"  # how the JSON spells it: a high surrogate with no low one after it


def _raw(body: Any) -> bytes:
    """``body`` as JSON, with every ``MARK`` spelt as a lone surrogate."""
    return json.dumps(body).encode().replace(MARK.encode(), LONE)


def _messages(content: Any = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


CALL_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"messages": _messages(MARK)}, "messages.0.content"),
    ({"messages": _messages([{"type": "text", "text": MARK}])}, "messages.0.content.0.text"),
    (
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": MARK},
            ]
        },
        "messages.1.content",
    ),
    ({"messages": [{"role": "user", "content": "hi", "name": MARK}]}, "messages.0.name"),
    (
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": MARK},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                {"role": "user", "content": "hi"},
            ]
        },
        "messages.0.tool_calls.0.function.arguments",
    ),
    (
        {
            "messages": _messages(),
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "description": MARK, "parameters": {}},
                }
            ],
        },
        "tools.0.function.description",
    ),
    (
        {
            "messages": _messages(),
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "schema": {"type": "object", "description": MARK},
                },
            },
        },
        "response_format.json_schema.schema.description",
    ),
    ({"messages": _messages(), "user": MARK}, "user"),
    ({"messages": _messages(), "stop": ["ok", MARK]}, "stop.1"),
    ({"messages": _messages(), "metadata": {"note": MARK}}, "metadata.note"),
    ({"messages": _messages(), "metadata": {MARK: 1}}, r"metadata.a\ud800b"),
]


def _post(client: httpx.Client, path: str, body: Any, **headers: str) -> httpx.Response:
    return client.post(
        path, content=_raw(body), headers={"Content-Type": "application/json", **headers}
    )


def _assert_refused(response: httpx.Response, param: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "validation_error",
        param,
    )
    assert "surrogate" in error["message"]


@pytest.fixture
def client(gateway: GatewayProcess, team: TeamHandle) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers=team.headers, timeout=30)


@pytest.fixture
def job(client: httpx.Client) -> str:
    created = client.post("/api/jobs/create", json={"job_type": "text"})
    assert created.status_code == 200, created.text
    return str(created.json()["job_id"])


def _nothing_moved(admin: Admin, team: TeamHandle, jobs: int) -> None:
    view = admin.get_team(team.team_id)
    assert view["credits_remaining"] == 100
    assert view["credits_reserved"] == jobs  # the one open job's hold, no call's
    listed = admin.http.get("/admin/jobs", params={"team_id": team.team_id}).json()["data"]
    assert len(listed) == jobs


@pytest.mark.parametrize(("body", "param"), CALL_FIELDS, ids=[p for _, p in CALL_FIELDS])
def test_every_text_field_of_a_call_is_checked_on_every_call_path(
    client: httpx.Client, admin: Admin, team: TeamHandle, job: str, body: Any, param: str
) -> None:
    paths: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (f"/api/jobs/{job}/llm-call", {}, {}),
        (f"/api/jobs/{job}/llm-call-stream", {}, {}),
        ("/api/jobs/create-and-call", {"job_type": "x"}, {}),
        ("/api/jobs/create-and-call-stream", {"job_type": "x"}, {}),
        ("/v1/chat/completions", {}, {}),
        ("/v1/chat/completions", {"stream": True}, {"X-Job-Id": job}),
    ]
    for path, extra, headers in paths:
        _assert_refused(_post(client, path, {**body, **extra}, **headers), param)
    _nothing_moved(admin, team, jobs=1)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"job_type": MARK}, "job_type"),
        ({"job_type": "x", "user_id": MARK}, "user_id"),
        ({"job_type": "x", "metadata": {"deep": [{"er": MARK}]}}, "metadata.deep.0.er"),
    ],
)
def test_creating_a_job_checks_its_text(
    client: httpx.Client, admin: Admin, team: TeamHandle, body: Any, param: str
) -> None:
    _assert_refused(_post(client, "/api/jobs/create", body), param)
    one_call = {**body, "messages": _messages()}
    _assert_refused(_post(client, "/api/jobs/create-and-call", one_call), param)
    if "metadata" in body:
        one_call = {"job_type": "x", "job_metadata": body["metadata"], "messages": _messages()}
        _assert_refused(_post(client, "/api/jobs/create-and-call-stream", one_call), "job_" + param)
    _nothing_moved(admin, team, jobs=0)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"status": "failed", "error_message": MARK}, "error_message"),
        ({"status": "completed", "metadata": {"k": MARK}}, "metadata.k"),
        ({"status": "completed", "result": {"k": [MARK]}}, "result.k.0"),
    ],
)
def test_completing_a_job_checks_its_text(
    client: httpx.Client, admin: Admin, team: TeamHandle, job: str, body: Any, param: str
) -> None:
    _assert_refused(_post(client, f"/api/jobs/{job}/complete", body), param)
    _nothing_moved(admin, team, jobs=1)
    assert client.get(f"/api/jobs/{job}").json()["status"] == "pending"


def test_the_admin_api_checks_its_text(admin: Admin, team: TeamHandle) -> None:
    http = admin.http
    for method, path, body, param in [
        ("POST", "/admin/organizations", {"id": "org-text", "name": MARK}, "name"),
        (
            "POST",
            "/admin/teams",
            {"id": "team-text", "organization_id": "tests", "name": MARK},
            "name",
        ),
        ("PATCH", f"/admin/teams/{team.team_id}", {"name": MARK}, "name"),
        ("POST", f"/admin/teams/{team.team_id}/keys", {"name": MARK}, "name"),
        (
            "POST",
            f"/admin/teams/{team.team_id}/credits/topup",
            {"amount": 5, "reason": MARK},
            "reason",
        ),
        ("PUT", "/admin/model-groups/text", {"name": "text", "members": [MARK]}, "members.0"),
    ]:
        response = http.request(
            method, path, content=_raw(body), headers={"Content-Type": "application/json"}
        )
        _assert_refused(response, param)
    assert http.get("/admin/organizations/org-text").status_code == 404
    assert http.get("/admin/teams/team-text").status_code == 404
    assert admin.get_team(team.team_id)["credits_remaining"] == 100


def test_a_stranger_hears_401_before_anything_about_its_text(gateway: GatewayProcess) -> None:
    headers = {"Authorization": "Bearer sk-not-a-key", "Content-Type": "application/json"}
    body = _raw({"job_type": "x", "messages": _messages(MARK)})
    for path in ("/api/jobs/create-and-call", "/v1/chat/completions", "/admin/teams"):
        response = httpx.post(gateway.url + path, content=body, headers=headers)
        assert response.status_code == 401, (path, response.text)


def test_a_surrogate_in_raw_bytes_is_refused_too(client: httpx.Client, job: str) -> None:
    """The same character written out in (invalid) UTF-8 bytes, which Python's JSON reader
    would also have turned into a lone surrogate."""
    body = b'{"messages": [{"role": "user", "content": "a\xed\xa0\x80b"}]}'
    for path in (f"/api/jobs/{job}/llm-call", f"/api/jobs/{job}/llm-call-stream"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        _assert_refused(response, "messages.0.content")


@pytest.mark.parametrize(
    ("spelt", "text"),
    [
        (rb"smile \ud83d\ude00", "smile \U0001f600"),  # a surrogate pair: one emoji
        (rb"path C:\\ud800", "path C:\\ud800"),  # an escaped backslash, then letters
    ],
)
def test_text_that_only_looks_alike_is_served(
    client: httpx.Client, job: str, spelt: bytes, text: str
) -> None:
    body = b'{"max_tokens": 8, "messages": [{"role": "user", "content": "' + spelt + b'"}]}'
    for path in (f"/api/jobs/{job}/llm-call", "/v1/chat/completions"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert text in response.json()["choices"][0]["message"]["content"]
