"""Organizations, teams and model groups through the admin API, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

MSG = [{"role": "user", "content": "hi"}]


def _client(gateway: GatewayProcess, team: TeamHandle) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers=team.headers, timeout=30)


def _job(client: httpx.Client) -> str:
    response = client.post("/api/jobs/create", json={"job_type": "tenancy"})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def _audited(admin: Admin, action: str, target: str) -> list[dict[str, Any]]:
    response = admin.http.get("/admin/audit", params={"action": action, "target": target})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


def _every_team_route(client: httpx.Client, job_id: str) -> dict[str, httpx.Response]:
    return {
        "create": client.post("/api/jobs/create", json={"job_type": "tenancy"}),
        "llm-call": client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG}),
        "llm-call-stream": client.post(
            f"/api/jobs/{job_id}/llm-call-stream", json={"messages": MSG}
        ),
        "chat/completions": client.post(
            "/v1/chat/completions", json={"model": "default", "messages": MSG}
        ),
        "chat/completions stream": client.post(
            "/v1/chat/completions", json={"model": "default", "messages": MSG, "stream": True}
        ),
    }


def test_suspended_team_is_refused_until_resumed(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    with _client(gateway, team) as client:
        job_id = _job(client)  # opened before the suspension; also caches the key
        suspended = admin.http.post(f"/admin/teams/{team.team_id}/suspend")
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["status"] == "suspended"
        assert admin.get_team(team.team_id)["status"] == "suspended"

        for route, response in _every_team_route(client, job_id).items():
            assert response.status_code == 403, (route, response.text)
            assert response.json()["error"]["code"] == "team_suspended", route
        balance = admin.balance(team.team_id)

        resumed = admin.http.post(f"/admin/teams/{team.team_id}/resume")
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "active"
        for route, response in _every_team_route(client, job_id).items():
            assert response.status_code == 200, (route, response.text)
        done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
    # Nothing was charged while suspended: the balance only moved after the resume.
    assert balance == 100
    for action in ("team.suspend", "team.resume"):
        entries = _audited(admin, action, f"team:{team.team_id}")
        assert [e["actor"] for e in entries] == ["admin:env"], entries


async def test_deleted_team_is_gone_from_the_api_but_its_records_stay(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    with _client(gateway, team) as client:
        job_id = _job(client)
        call = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG})
        assert call.status_code == 200, call.text
        done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
        assert client.get("/v1/models").status_code == 200  # the key is cached

        deleted = admin.http.delete(f"/admin/teams/{team.team_id}")
        assert deleted.status_code == 204, deleted.text
        assert deleted.content == b""

        for response in (
            client.post("/api/jobs/create", json={"job_type": "x"}),
            client.get(f"/api/jobs/{job_id}"),
            client.get("/v1/models"),
            client.post("/v1/chat/completions", json={"model": "default", "messages": MSG}),
        ):
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "invalid_api_key"

    assert admin.http.get(f"/admin/teams/{team.team_id}").status_code == 404
    for response in (
        admin.http.delete(f"/admin/teams/{team.team_id}"),
        admin.http.patch(f"/admin/teams/{team.team_id}", json={"name": "back"}),
        admin.http.post(f"/admin/teams/{team.team_id}/keys", json={}),
        admin.http.post(f"/admin/teams/{team.team_id}/suspend"),
        admin.http.post(
            f"/admin/teams/{team.team_id}/credits/topup", json={"amount": 5, "reason": "x"}
        ),
    ):
        assert response.status_code == 404, response.text

    live = admin.http.get("/admin/teams", params={"organization_id": "tests"}).json()
    assert team.team_id not in {t["id"] for t in live}
    everything = admin.http.get(
        "/admin/teams", params={"organization_id": "tests", "include_deleted": "true"}
    ).json()
    [listed] = [t for t in everything if t["id"] == team.team_id]
    assert listed["deleted_at"] is not None
    assert listed["credits_remaining"] == 99

    # The history stays in the database.
    stored = await db.job(gateway.database_url, job_id)
    assert stored["team_id"] == team.team_id
    assert stored["status"] == "completed"
    ledger = await db.ledger(gateway.database_url, team.team_id)
    assert [row["kind"] for row in ledger] == ["grant", "job_charge"]
    calls = await db.calls(gateway.database_url, team.team_id, 1)
    assert len(calls) == 1
    assert [e["actor"] for e in _audited(admin, "team.delete", f"team:{team.team_id}")] == [
        "admin:env"
    ]


def test_organizations(admin: Admin) -> None:
    org_id = f"org-{secrets.token_hex(4)}"
    created = admin.http.post("/admin/organizations", json={"id": org_id, "name": "Widgets"})
    assert created.status_code == 201, created.text
    assert created.json()["id"] == org_id
    assert created.json()["name"] == "Widgets"

    fetched = admin.http.get(f"/admin/organizations/{org_id}")
    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    listed = admin.http.get("/admin/organizations").json()
    assert [o for o in listed if o["id"] == org_id] == [created.json()]

    duplicate = admin.http.post("/admin/organizations", json={"id": org_id, "name": "Other"})
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["error"]["type"] == "conflict_error"
    assert admin.http.get(f"/admin/organizations/{org_id}").json()["name"] == "Widgets"

    assert admin.http.get("/admin/organizations/no-such-org").status_code == 404
    bad = admin.http.post("/admin/organizations", json={"id": "has space"})
    assert bad.status_code == 422
    unnamed = admin.http.post("/admin/organizations", json={"id": org_id + "-b"})
    assert unnamed.status_code == 201
    assert unnamed.json()["name"] == org_id + "-b"

    # A team needs an existing organization; teams list by organization.
    orphan = admin.http.post(
        "/admin/teams",
        json={"id": f"t-{secrets.token_hex(4)}", "organization_id": "no-such-org", "credits": 0},
    )
    assert orphan.status_code == 404, orphan.text
    team_id = f"t-{secrets.token_hex(4)}"
    made = admin.http.post(
        "/admin/teams", json={"id": team_id, "organization_id": org_id, "credits": 3}
    )
    assert made.status_code == 201, made.text
    in_org = admin.http.get("/admin/teams", params={"organization_id": org_id}).json()
    assert [t["id"] for t in in_org] == [team_id]
    again = admin.http.post(
        "/admin/teams", json={"id": team_id, "organization_id": org_id, "credits": 9}
    )
    assert again.status_code == 409
    assert admin.balance(team_id) == 3


def test_team_billing_fields_round_trip(admin: Admin, team: TeamHandle) -> None:
    changes: dict[str, Any] = {
        "name": "Renamed",
        "budget_mode": "per_token",
        "credits_per_job": 7,
        "tokens_per_credit": 250,
        "credits_per_dollar": 42.5,
        "markup_percent": 12.5,
        "overdraft_limit": 30,
        "low_balance_threshold": 15,
        "rpm_limit": 120,
        "max_concurrent_streams": 4,
    }
    updated = admin.http.patch(f"/admin/teams/{team.team_id}", json=changes)
    assert updated.status_code == 200, updated.text
    fetched = admin.get_team(team.team_id)
    for body in (updated.json(), fetched):
        assert {k: body[k] for k in changes} == changes
        assert body["credits_available"] == 100 + 30
    # Absent fields stay; null clears the optional ones.
    cleared = admin.http.patch(
        f"/admin/teams/{team.team_id}",
        json={"rpm_limit": None, "low_balance_threshold": None, "credits_per_job": 2},
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert body["rpm_limit"] is None
    assert body["low_balance_threshold"] is None
    assert body["credits_per_job"] == 2
    assert body["budget_mode"] == "per_token"
    assert body["markup_percent"] == 12.5
    assert body["name"] == "Renamed"

    for bad in (
        {"budget_mode": None},
        {"budget_mode": "per_galaxy"},
        {"tokens_per_credit": 0},
        {"credits_per_dollar": 0},
        {"overdraft_limit": -1},
        {"no_such_field": 1},
        {"default_model_group": "no-such-group"},
        {"model_groups": ["no-such-group"]},
    ):
        refused = admin.http.patch(f"/admin/teams/{team.team_id}", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["type"] == "invalid_request_error"
    assert admin.get_team(team.team_id)["budget_mode"] == "per_token"


def test_team_update_applies_to_a_cached_key(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    with _client(gateway, team) as client:
        job_id = _job(client)
        assert (
            client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG}).status_code == 200
        )
        admin.update_team(team.team_id, model_groups=["slow"], default_model_group="slow")
        refused = client.post(
            f"/api/jobs/{job_id}/llm-call", json={"model": "fallback", "messages": MSG}
        )
        assert refused.status_code == 403, refused.text
        answer = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG})
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"]["model_group"] == "slow"
        models = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert models == ["slow"]


def test_model_groups_put_get_delete(gateway: GatewayProcess, admin: Admin) -> None:
    name = f"grp-{secrets.token_hex(4)}"
    spec = {"name": name, "members": ["fake"]}
    put = admin.http.put(f"/admin/model-groups/{name}", json=spec)
    assert put.status_code == 200, put.text
    assert put.json() == spec
    assert admin.http.get(f"/admin/model-groups/{name}").json() == spec
    listed = admin.http.get("/admin/model-groups").json()
    assert spec in listed
    assert {"name": "default", "members": ["fake"]} in listed

    # Usable at once, by a team whose default it is.
    team = admin.team(credits=10, default_model_group=name, model_groups=["default"])
    assert name in admin.get_team(team.team_id)["model_groups"]
    with _client(gateway, team) as client:
        job_id = _job(client)
        answer = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG})
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"]["model_group"] == name
        assert answer.json()["metadata"]["model"] == "fake"

        # Replacing the members takes effect on the next call.
        replaced = admin.http.put(
            f"/admin/model-groups/{name}", json={"name": name, "members": ["fake-slow200"]}
        )
        assert replaced.status_code == 200
        assert admin.http.get(f"/admin/model-groups/{name}").json()["members"] == ["fake-slow200"]
        answer = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MSG})
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"]["model"] == "fake-d200"

        in_use = admin.http.delete(f"/admin/model-groups/{name}")
        assert in_use.status_code == 409, in_use.text
        assert team.team_id in in_use.json()["error"]["message"]
        assert admin.http.get(f"/admin/model-groups/{name}").status_code == 200

        admin.update_team(team.team_id, default_model_group="default")
        assert name in admin.get_team(team.team_id)["model_groups"]
        gone = admin.http.delete(f"/admin/model-groups/{name}")
        assert gone.status_code == 204, gone.text
        assert admin.http.get(f"/admin/model-groups/{name}").status_code == 404
        assert name not in {g["name"] for g in admin.http.get("/admin/model-groups").json()}
        assert name not in admin.get_team(team.team_id)["model_groups"]
        missing = client.post(f"/api/jobs/{job_id}/llm-call", json={"model": name, "messages": MSG})
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "model_group_not_found"
        assert admin.http.delete(f"/admin/model-groups/{name}").status_code == 404

    for path_name, body in (
        (name, {"name": name, "members": ["no-such-deployment"]}),
        (name, {"name": name, "members": []}),
        (name, {"name": "other-name", "members": ["fake"]}),
    ):
        refused = admin.http.put(f"/admin/model-groups/{path_name}", json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert admin.http.get(f"/admin/model-groups/{name}").status_code == 404
    assert [e["action"] for e in _audited(admin, "model_group.put", f"model_group:{name}")] == [
        "model_group.put",
        "model_group.put",
    ]


def test_low_balance_flag_and_filter(admin: Admin) -> None:
    low = admin.team(credits=10, low_balance_threshold=5)
    unflagged = admin.team(credits=0)
    assert admin.get_team(low.team_id)["low_balance"] is False
    assert admin.get_team(unflagged.team_id)["low_balance"] is False

    def listed(flag: str) -> set[str]:
        response = admin.http.get(
            "/admin/teams", params={"organization_id": "tests", "low_balance": flag}
        )
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()}

    assert low.team_id not in listed("true")
    assert low.team_id in listed("false")
    admin.set_balance(low.team_id, 5)  # at the threshold counts as low
    assert admin.get_team(low.team_id)["low_balance"] is True
    assert low.team_id in listed("true")
    assert low.team_id not in listed("false")
    assert unflagged.team_id not in listed("true")
    assert unflagged.team_id in listed("false")

    admin.update_team(low.team_id, low_balance_threshold=4)
    assert admin.get_team(low.team_id)["low_balance"] is False
    assert low.team_id not in listed("true")
    assert all(
        t["low_balance"]
        for t in admin.http.get("/admin/teams", params={"low_balance": "true"}).json()
    )
