"""The job API over real sockets: lifecycle, isolation between teams, the documented shapes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from saasllm_testing.fake import answer_text
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

POEM = "Write a short poem about Python"


def _messages(prompt: str = POEM) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


@pytest.fixture
def client(gateway: GatewayProcess, team: TeamHandle) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers=team.headers, timeout=30)


def _create(client: httpx.Client, job_type: str = "test") -> str:
    response = client.post("/api/jobs/create", json={"job_type": job_type})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def test_job_lifecycle_charges_one_credit(client: httpx.Client, team: TeamHandle) -> None:
    created = client.post("/api/jobs/create", json={"job_type": "chat", "metadata": {"a": 1}})
    assert created.status_code == 200
    body = created.json()
    assert body["team_id"] == team.team_id
    assert body["status"] == "pending"
    job_id = body["job_id"]

    call = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": _messages()})
    assert call.status_code == 200, call.text
    answer = call.json()
    # Both audiences: the OpenAI shape and the documented shape.
    assert answer["choices"][0]["message"]["content"] == answer_text(POEM)
    assert answer["response"]["content"] == answer_text(POEM)
    assert answer["response"]["finish_reason"] == "stop"
    assert answer["metadata"]["model_group"] == "default"
    assert answer["metadata"]["tokens_used"] == answer["usage"]["total_tokens"] > 0
    assert answer["call_id"]

    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "in_progress"
    assert job["total_calls"] == 1
    assert job["model_groups_used"] == ["default"]
    assert job["metadata"] == {"a": 1}

    done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "Completed"})
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["status"] == "completed"
    assert result["credit_applied"] is True
    assert result["credits_remaining"] == 99
    assert result["costs"]["credits_remaining"] == 99
    assert result["total_calls"] == 1
    assert result["calls"][0]["model"] == "openai/fake"

    again = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_already_completed"
    late_call = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": _messages()})
    assert late_call.status_code == 409


@pytest.mark.parametrize("status", ["failed", "cancelled", "FAILED"])
def test_failed_and_cancelled_jobs_charge_nothing(
    client: httpx.Client, admin: Admin, team: TeamHandle, status: str
) -> None:
    job_id = _create(client)
    client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": _messages()})
    result = client.post(f"/api/jobs/{job_id}/complete", json={"status": status})
    assert result.status_code == 200
    assert result.json()["credit_applied"] is False
    assert result.json()["credits_remaining"] == 100
    assert admin.balance(team.team_id) == 100
    # A failed job cannot be completed (and charged) afterwards.
    assert client.post(f"/api/jobs/{job_id}/complete", json={}).status_code == 409


def test_another_teams_job_is_not_found(
    gateway: GatewayProcess, admin: Admin, client: httpx.Client
) -> None:
    job_id = _create(client)
    other = admin.team(credits=10)
    with httpx.Client(base_url=gateway.url, headers=other.headers) as intruder:
        for method, path, body in [
            ("GET", f"/api/jobs/{job_id}", None),
            ("POST", f"/api/jobs/{job_id}/llm-call", {"messages": _messages()}),
            ("POST", f"/api/jobs/{job_id}/llm-call-stream", {"messages": _messages()}),
            ("POST", f"/api/jobs/{job_id}/complete", {"status": "completed"}),
        ]:
            response = intruder.request(method, path, json=body)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "job_not_found"
    assert client.get(f"/api/jobs/{job_id}").json()["status"] == "pending"
    assert admin.balance(other.team_id) == 10


def test_unknown_job_is_404(client: httpx.Client) -> None:
    response = client.get(f"/api/jobs/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_no_credits_blocks_job_creation_and_calls(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=1)
    with httpx.Client(base_url=gateway.url, headers=team.headers) as client:
        job_id = _create(client)
        admin.set_balance(team.team_id, 0)
        refused = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": _messages()})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_credits"
        stream = client.post(f"/api/jobs/{job_id}/llm-call-stream", json={"messages": _messages()})
        assert stream.status_code == 403
        create = client.post("/api/jobs/create", json={"job_type": "x"})
        assert create.status_code == 403
        assert create.json()["error"]["code"] == "insufficient_credits"
        # Completing with nothing to pay with still closes the job: the charge is debt,
        # and the team starts nothing more until it is paid.
        done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
        assert done.json()["credits_remaining"] == -1
        assert client.get(f"/api/jobs/{job_id}").json()["status"] == "completed"
        again = client.post("/api/jobs/create", json={"job_type": "x"})
        assert again.json()["error"]["code"] == "insufficient_credits"
    assert admin.balance(team.team_id) == -1
    assert admin.get_team(team.team_id)["debt"] == 1


def test_model_and_model_group_are_the_same_field(client: httpx.Client) -> None:
    job_id = _create(client)
    for field in ("model", "model_group"):
        response = client.post(
            f"/api/jobs/{job_id}/llm-call", json={field: "slow", "messages": _messages("hi")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["metadata"]["model_group"] == "slow"


def test_group_outside_the_teams_access_list_is_403(client: httpx.Client) -> None:
    job_id = _create(client)
    response = client.post(
        f"/api/jobs/{job_id}/llm-call", json={"model": "secret", "messages": _messages()}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_group_not_allowed"


def test_job_type_casing_and_metadata_round_trip(client: httpx.Client) -> None:
    response = client.post(
        "/api/jobs/create", json={"job_type": "Doc Analysis", "user_id": "u-1", "metadata": {}}
    )
    job = client.get(f"/api/jobs/{response.json()['job_id']}").json()
    assert job["job_type"] == "Doc Analysis"
    assert job["user_id"] == "u-1"
