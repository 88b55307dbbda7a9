"""Who may use the admin API: no key, team keys, admin keys by scope, and the audit trail.

Every admin operation is taken from the app's own OpenAPI document, so a new
endpoint is covered without editing this file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from saasllm_server.app import create_app
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin, TeamHandle

Operation = tuple[str, str]  # (method, path template)


def _admin_operations() -> list[Operation]:
    document = create_app().openapi()
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/admin")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(found) >= 30, found  # the document really lists the admin API
    return sorted(found)


OPERATIONS = _admin_operations()
MUTATIONS = [op for op in OPERATIONS if op[0] != "GET"]
READS = [op for op in OPERATIONS if op[0] == "GET"]

# GETs the implementation keeps for scope ``full`` (``Operator``), although the admin
# auth module's docstring says ``read`` may use every GET: the audit log and the admin
# key list. Pinned here so a change to either side is a deliberate one.
FULL_ONLY_READS = {("GET", "/admin/audit"), ("GET", "/admin/admin-keys")}


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), f"dummy-{m.group(1)}"), path)


def _send(
    client: httpx.Client, op: Operation, values: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    method, path = op
    body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, _fill(path, values), json=body, headers=headers)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def anonymous(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


def _admin_key(admin: Admin, scope: str) -> dict[str, Any]:
    made = admin.http.post(
        "/admin/admin-keys", json={"name": f"{scope}-{secrets.token_hex(3)}", "scope": scope}
    )
    assert made.status_code == 201, made.text
    assert made.json()["scope"] == scope
    key: dict[str, Any] = made.json()
    return key


def test_no_key_or_a_wrong_key_is_401_everywhere(anonymous: httpx.Client, team: TeamHandle) -> None:
    real = {"team_id": team.team_id, "key_id": team.key_id, "name": "default"}
    for op in OPERATIONS:
        for values in (real, {}):
            missing = _send(anonymous, op, values, {})
            assert missing.status_code == 401, (op, missing.text)
            assert missing.json()["error"]["type"] == "authentication_error", op
            wrong = _send(anonymous, op, values, _bearer("sk-admin-" + "z" * 40))
            assert wrong.status_code == 401, (op, wrong.text)
            assert wrong.json()["error"]["code"] == "invalid_admin_key", op
            basic = _send(anonymous, op, values, {"Authorization": f"Basic {ADMIN_KEY}"})
            assert basic.status_code == 401, (op, basic.text)


def test_a_team_key_is_403_everywhere(
    anonymous: httpx.Client, admin: Admin, team: TeamHandle
) -> None:
    """Whether the object exists or not (no 404 reveals it), whatever the team owns."""
    other = admin.team(credits=5)
    headers = team.headers
    for op in OPERATIONS:
        for values in (
            {"team_id": team.team_id, "key_id": team.key_id, "name": "default"},
            {"team_id": other.team_id, "key_id": other.key_id, "organization_id": "tests"},
            {},
        ):
            response = _send(anonymous, op, values, headers)
            assert response.status_code == 403, (op, values, response.text)
            error = response.json()["error"]
            assert error["type"] == "permission_error", op
            assert error["code"] == "team_key_not_admin", op
    # Nothing changed: the team key was never taken for an admin.
    assert admin.balance(team.team_id) == 100
    assert admin.balance(other.team_id) == 5
    assert admin.get_team(team.team_id)["status"] == "active"
    keys = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert [(k["key_id"], k["status"]) for k in keys] == [(team.key_id, "active")]


def test_read_scope_reads_and_changes_nothing(
    anonymous: httpx.Client, admin: Admin, team: TeamHandle
) -> None:
    reader = _admin_key(admin, "read")
    headers = _bearer(reader["key"])
    values = {
        "team_id": team.team_id,
        "key_id": team.key_id,
        "organization_id": "tests",
        "name": "default",
    }
    for op in READS:
        response = _send(anonymous, op, values, headers)
        if op in FULL_ONLY_READS:
            assert response.status_code == 403, (op, response.text)
            assert response.json()["error"]["code"] == "insufficient_scope", op
        else:
            assert response.status_code == 200, (op, response.text)
    for op in MUTATIONS:
        response = _send(anonymous, op, values, headers)
        assert response.status_code == 403, (op, response.text)
        assert response.json()["error"]["code"] == "insufficient_scope", op

    topup = anonymous.post(
        f"/admin/teams/{team.team_id}/credits/topup",
        json={"amount": 10, "reason": "nope"},
        headers=headers,
    )
    assert topup.status_code == 403
    assert topup.json()["error"]["code"] == "insufficient_scope"
    new_team = f"team-{secrets.token_hex(4)}"
    create = anonymous.post(
        "/admin/teams",
        json={"id": new_team, "organization_id": "tests", "credits": 1},
        headers=headers,
    )
    assert create.status_code == 403
    assert create.json()["error"]["code"] == "insufficient_scope"

    assert admin.balance(team.team_id) == 100
    assert admin.http.get(f"/admin/teams/{new_team}").status_code == 404
    assert admin.get_team(team.team_id)["status"] == "active"
    keys = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert [(k["key_id"], k["status"]) for k in keys] == [(team.key_id, "active")]
    assert _audit(admin, by=f"admin:{reader['key_id']}") == []


def test_billing_scope_moves_credits_only(
    anonymous: httpx.Client, admin: Admin, team: TeamHandle
) -> None:
    biller = _admin_key(admin, "billing")
    headers = _bearer(biller["key"])
    assert anonymous.get(f"/admin/teams/{team.team_id}", headers=headers).status_code == 200
    assert anonymous.get(f"/admin/teams/{team.team_id}/ledger", headers=headers).status_code == 200

    topup = anonymous.post(
        f"/admin/teams/{team.team_id}/credits/topup",
        json={"amount": 10, "reason": "purchase"},
        headers=headers,
    )
    assert topup.status_code == 200, topup.text
    assert topup.json()["actor"] == f"admin:{biller['key_id']}"
    adjust = anonymous.post(
        f"/admin/teams/{team.team_id}/credits/adjust",
        json={"amount": -3, "reason": "correction"},
        headers=headers,
    )
    assert adjust.status_code == 200, adjust.text
    assert admin.balance(team.team_id) == 107

    refused = {
        "create team": anonymous.post(
            "/admin/teams",
            json={"id": f"team-{secrets.token_hex(4)}", "organization_id": "tests", "credits": 1},
            headers=headers,
        ),
        "create key": anonymous.post(f"/admin/teams/{team.team_id}/keys", json={}, headers=headers),
        "revoke key": anonymous.post(f"/admin/keys/{team.key_id}/revoke", headers=headers),
        "suspend": anonymous.post(f"/admin/teams/{team.team_id}/suspend", headers=headers),
        "update team": anonymous.patch(
            f"/admin/teams/{team.team_id}", json={"overdraft_limit": 1000}, headers=headers
        ),
        "create admin key": anonymous.post(
            "/admin/admin-keys", json={"name": "escalate", "scope": "full"}, headers=headers
        ),
    }
    for what, response in refused.items():
        assert response.status_code == 403, (what, response.text)
        assert response.json()["error"]["code"] == "insufficient_scope", what
    keys = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert [(k["key_id"], k["status"]) for k in keys] == [(team.key_id, "active")]
    assert admin.get_team(team.team_id)["overdraft_limit"] == 0
    assert admin.get_team(team.team_id)["status"] == "active"
    actions = {(e["action"], e["target"]) for e in _audit(admin, by=f"admin:{biller['key_id']}")}
    assert actions == {
        ("credits.topup", f"team:{team.team_id}"),
        ("credits.adjustment", f"team:{team.team_id}"),
    }


def _audit(admin: Admin, **filters: str) -> list[dict[str, Any]]:
    response = admin.http.get("/admin/audit", params={"limit": 500, **filters})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


def test_full_scope_does_everything_and_every_change_is_audited(
    gateway: GatewayProcess, anonymous: httpx.Client, admin: Admin
) -> None:
    operator = _admin_key(admin, "full")
    actor = f"admin:{operator['key_id']}"
    headers = _bearer(operator["key"])
    seen_secrets = [operator["key"], ADMIN_KEY]

    def ok(response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    org_id = f"org-{secrets.token_hex(4)}"
    team_id = f"team-{secrets.token_hex(4)}"
    group = f"grp-{secrets.token_hex(4)}"
    ok(anonymous.post("/admin/organizations", json={"id": org_id}, headers=headers), 201)
    ok(
        anonymous.post(
            "/admin/teams",
            json={"id": team_id, "organization_id": org_id, "credits": 5, "model_groups": []},
            headers=headers,
        ),
        201,
    )
    key = ok(anonymous.post(f"/admin/teams/{team_id}/keys", json={}, headers=headers), 201)
    seen_secrets.append(key["key"])
    ok(anonymous.patch(f"/admin/keys/{key['key_id']}", json={"name": "k"}, headers=headers))
    rotated = ok(
        anonymous.post(f"/admin/keys/{key['key_id']}/rotate", json={}, headers=headers), 201
    )
    seen_secrets.append(rotated["key"])
    ok(anonymous.post(f"/admin/keys/{rotated['key_id']}/revoke", headers=headers))
    ok(anonymous.patch(f"/admin/teams/{team_id}", json={"rpm_limit": 5}, headers=headers))
    ok(anonymous.post(f"/admin/teams/{team_id}/suspend", headers=headers))
    ok(anonymous.post(f"/admin/teams/{team_id}/resume", headers=headers))
    ok(
        anonymous.post(
            f"/admin/teams/{team_id}/credits/allocate", json={"amount": 4}, headers=headers
        )
    )
    ok(anonymous.post(f"/admin/teams/{team_id}/credits", json={"amount": -2}, headers=headers))
    ok(
        anonymous.put(
            f"/admin/model-groups/{group}",
            json={"name": group, "members": ["fake"]},
            headers=headers,
        )
    )
    ok(anonymous.delete(f"/admin/model-groups/{group}", headers=headers), 204)
    other = ok(anonymous.post("/admin/admin-keys", json={"name": "second"}, headers=headers), 201)
    seen_secrets.append(other["key"])
    assert other["scope"] == "read"
    ok(anonymous.post(f"/admin/admin-keys/{other['key_id']}/revoke", headers=headers))
    ok(anonymous.delete(f"/admin/teams/{team_id}", headers=headers), 204)
    assert ok(anonymous.get("/admin/audit", headers=headers))["data"]
    assert ok(anonymous.get("/admin/admin-keys", headers=headers))

    expected = [
        ("organization.create", f"organization:{org_id}"),
        ("team.create", f"team:{team_id}"),
        ("key.create", f"key:{key['key_id']}"),
        ("key.update", f"key:{key['key_id']}"),
        ("key.rotate", f"key:{rotated['key_id']}"),
        ("key.revoke", f"key:{rotated['key_id']}"),
        ("team.update", f"team:{team_id}"),
        ("team.suspend", f"team:{team_id}"),
        ("team.resume", f"team:{team_id}"),
        ("credits.allocation", f"team:{team_id}"),
        ("credits.adjustment", f"team:{team_id}"),
        ("model_group.put", f"model_group:{group}"),
        ("model_group.delete", f"model_group:{group}"),
        ("admin_key.create", f"admin_key:{other['key_id']}"),
        ("admin_key.revoke", f"admin_key:{other['key_id']}"),
        ("team.delete", f"team:{team_id}"),
    ]
    entries = _audit(admin, by=actor)
    assert [(e["action"], e["target"]) for e in reversed(entries)] == expected
    assert all(e["actor"] == actor for e in entries)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)  # newest first

    # The env root key's own changes are attributed to admin:env.
    made_by_env = _audit(admin, by="admin:env", target=f"admin_key:{operator['key_id']}")
    assert [(e["action"], e["actor"]) for e in made_by_env] == [("admin_key.create", "admin:env")]

    # The revoked admin key is refused from its next request on.
    revoked = anonymous.get("/admin/teams", headers=_bearer(other["key"]))
    assert revoked.status_code == 401, revoked.text
    assert revoked.json()["error"]["code"] == "invalid_admin_key"
    listed = {k["key_id"]: k for k in ok(anonymous.get("/admin/admin-keys", headers=headers))}
    assert listed[other["key_id"]]["revoked_at"] is not None
    assert listed[operator["key_id"]]["revoked_at"] is None
    for item in listed.values():
        assert "key" not in item

    # No secret anywhere in the audit log, across every page.
    text = _whole_audit_text(anonymous, headers)
    for secret in seen_secrets:
        assert secret not in text
    assert operator["prefix"] in text or operator["key_id"] in text  # we did read the log


def _whole_audit_text(client: httpx.Client, headers: dict[str, str]) -> str:
    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = client.get("/admin/audit", params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.text)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return "\n".join(pages)


def test_revoked_admin_key_is_401(anonymous: httpx.Client, admin: Admin) -> None:
    for scope in ("read", "full"):
        made = _admin_key(admin, scope)
        headers = _bearer(made["key"])
        assert anonymous.get("/admin/teams", headers=headers).status_code == 200
        revoked = admin.http.post(f"/admin/admin-keys/{made['key_id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None
        assert "key" not in revoked.json()
        for response in (
            anonymous.get("/admin/teams", headers=headers),
            anonymous.post("/admin/admin-keys", json={"name": "x"}, headers=headers),
        ):
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "invalid_admin_key"
        again = admin.http.post(f"/admin/admin-keys/{made['key_id']}/revoke")
        assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
        revocations = _audit(admin, action="admin_key.revoke", target=f"admin_key:{made['key_id']}")
        assert len(revocations) == 1
    assert admin.http.post("/admin/admin-keys/adm_nope/revoke").status_code == 404


def test_admin_key_prefix_is_not_the_secret(admin: Admin) -> None:
    made = _admin_key(admin, "read")
    assert made["key"].startswith(made["prefix"])
    assert len(made["prefix"]) <= len(made["key"]) // 3
    invalid_scope = admin.http.post("/admin/admin-keys", json={"name": "x", "scope": "root"})
    assert invalid_scope.status_code == 422
