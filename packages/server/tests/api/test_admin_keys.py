"""Virtual-key lifecycle over real sockets: revocation, rotation, expiry, per-key groups.

Each test first uses the key (so the gateway's key cache holds it) before changing
it, so a change that only reached the database, not the cache, would show.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import TEST_GROUPS, Admin, TeamHandle

MSG = [{"role": "user", "content": "hi"}]


def _client(gateway: GatewayProcess, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def _create_job(client: httpx.Client) -> httpx.Response:
    return client.post("/api/jobs/create", json={"job_type": "keys"})


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == "invalid_api_key"


def _key_info(admin: Admin, key_id: str) -> dict[str, Any]:
    response = admin.http.get(f"/admin/keys/{key_id}")
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


def _when(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _wait_for_401(client: httpx.Client, *, not_before: float, within_s: float) -> float:
    """Poll a side-effect-free authenticated endpoint until the key is refused.

    Returns the time the refusal was seen; fails if the key was refused before
    ``not_before`` (the server shares this clock) or is still accepted ``within_s``
    after it.
    """
    deadline = not_before + within_s
    while True:
        response = client.get("/v1/models")
        seen = time.time()
        if response.status_code == 401:
            assert seen >= not_before, f"refused {not_before - seen:.3f}s before its end"
            _assert_unauthorized(response)
            return seen
        assert response.status_code == 200, response.text
        assert seen < deadline, f"key still accepted {seen - not_before:.2f}s after its end"
        time.sleep(0.05)


def test_revoked_key_fails_its_very_next_request(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10)
    with _client(gateway, team.key) as client:
        assert _create_job(client).status_code == 200  # the key is now in the key cache
        revoked = admin.http.post(f"/admin/keys/{team.key_id}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        assert revoked.json()["revoked_at"] is not None
        # No waiting: the very next request, on every authenticated route, is refused.
        _assert_unauthorized(_create_job(client))
        _assert_unauthorized(client.get("/v1/models"))
        _assert_unauthorized(
            client.post("/v1/chat/completions", json={"model": "default", "messages": MSG})
        )
    # Revoking again changes nothing.
    again = admin.http.post(f"/admin/keys/{team.key_id}/revoke")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert again.json()["status"] == "revoked"


def test_rotation_keeps_the_old_key_for_the_grace_then_stops_it(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=50)
    with _client(gateway, team.key) as old:
        assert _create_job(old).status_code == 200
        started = time.time()
        rotated = admin.http.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 2})
        assert rotated.status_code == 201, rotated.text
        new_key = rotated.json()
        assert new_key["key"] != team.key
        assert new_key["key_id"] != team.key_id
        assert new_key["team_id"] == team.team_id
        assert new_key["status"] == "active"
        assert new_key["prefix"] == new_key["key"][: len(new_key["prefix"])]

        old_info = _key_info(admin, team.key_id)
        assert old_info["status"] == "expiring"
        assert old_info["replaced_by"] == new_key["key_id"]
        grace_end = _when(old_info["expires_at"])
        assert started + 1.5 <= grace_end <= time.time() + 2.5

        with _client(gateway, new_key["key"]) as new:
            # During the grace both keys work, for the same team.
            for client in (old, new):
                created = _create_job(client)
                assert created.status_code == 200, created.text
                assert created.json()["team_id"] == team.team_id
            assert time.time() < grace_end, "the machine was too slow to check inside the grace"

            _wait_for_401(old, not_before=grace_end, within_s=3)
            _assert_unauthorized(_create_job(old))
            created = _create_job(new)
            assert created.status_code == 200, created.text
    assert _key_info(admin, team.key_id)["status"] == "expired"
    assert _key_info(admin, new_key["key_id"])["status"] == "active"


def test_rotation_without_grace_stops_the_old_key_at_once(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    with _client(gateway, team.key) as old:
        assert _create_job(old).status_code == 200
        rotated = admin.http.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 0})
        assert rotated.status_code == 201, rotated.text
        _assert_unauthorized(_create_job(old))
        with _client(gateway, rotated.json()["key"]) as new:
            assert _create_job(new).status_code == 200
    assert _key_info(admin, team.key_id)["status"] == "expired"


def test_rotated_key_keeps_name_and_groups(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10)
    made = admin.http.post(
        f"/admin/teams/{team.team_id}/keys", json={"name": "ci", "model_groups": ["slow"]}
    )
    assert made.status_code == 201, made.text
    rotated = admin.http.post(f"/admin/keys/{made.json()['key_id']}/rotate", json={})
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["name"] == "ci"
    assert rotated.json()["model_groups"] == ["slow"]
    renamed = admin.http.post(
        f"/admin/keys/{rotated.json()['key_id']}/rotate", json={"name": "ci-2"}
    )
    assert renamed.json()["name"] == "ci-2"


def test_key_with_an_expiry_stops_at_that_time(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=50)
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    made = admin.http.post(
        f"/admin/teams/{team.team_id}/keys", json={"expires_at": expires.isoformat()}
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["status"] == "expiring"
    assert abs(_when(key["expires_at"]) - expires.timestamp()) < 0.01
    with _client(gateway, key["key"]) as client:
        created = _create_job(client)
        assert created.status_code == 200, created.text
        assert time.time() < expires.timestamp(), "the machine was too slow to use the key in time"
        _wait_for_401(client, not_before=expires.timestamp(), within_s=3)
        _assert_unauthorized(_create_job(client))
    assert _key_info(admin, key["key_id"])["status"] == "expired"
    # The team's other key is unaffected.
    with _client(gateway, team.key) as other:
        assert _create_job(other).status_code == 200


def test_expiry_set_by_update_applies_to_a_cached_key(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    with _client(gateway, team.key) as client:
        assert _create_job(client).status_code == 200
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        updated = admin.http.patch(f"/admin/keys/{team.key_id}", json={"expires_at": past})
        assert updated.status_code == 200, updated.text
        assert updated.json()["status"] == "expired"
        _assert_unauthorized(_create_job(client))
        cleared = admin.http.patch(f"/admin/keys/{team.key_id}", json={"expires_at": None})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["status"] == "active"
        assert _create_job(client).status_code == 200


def _call(client: httpx.Client, job_id: str, group: str) -> httpx.Response:
    return client.post(f"/api/jobs/{job_id}/llm-call", json={"model": group, "messages": MSG})


def _models(client: httpx.Client) -> list[str]:
    response = client.get("/v1/models")
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


def test_key_limited_to_some_groups(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=20)
    made = admin.http.post(f"/admin/teams/{team.team_id}/keys", json={"model_groups": ["default"]})
    assert made.status_code == 201, made.text
    assert made.json()["model_groups"] == ["default"]
    with _client(gateway, made.json()["key"]) as limited, _client(gateway, team.key) as full:
        assert _models(limited) == ["default"]
        assert _models(full) == sorted(TEST_GROUPS)

        job_id = _create_job(limited).json()["job_id"]
        assert _call(limited, job_id, "default").status_code == 200
        refused = _call(limited, job_id, "slow")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "model_group_not_allowed"
        stream = limited.post(
            f"/api/jobs/{job_id}/llm-call-stream", json={"model": "slow", "messages": MSG}
        )
        assert stream.status_code == 403
        assert stream.json()["error"]["code"] == "model_group_not_allowed"
        compat = limited.post("/v1/chat/completions", json={"model": "slow", "messages": MSG})
        assert compat.status_code == 403
        assert compat.json()["error"]["code"] == "model_group_not_allowed"
        # The team's unrestricted key may use the group.
        other_job = _create_job(full).json()["job_id"]
        assert _call(full, other_job, "slow").status_code == 200

        # Narrowing to another group applies to the cached key at once.
        changed = admin.http.patch(
            f"/admin/keys/{made.json()['key_id']}", json={"model_groups": ["slow"]}
        )
        assert changed.status_code == 200, changed.text
        assert _models(limited) == ["slow"]
        assert _call(limited, job_id, "slow").status_code == 200
        assert _call(limited, job_id, "default").json()["error"]["code"] == (
            "model_group_not_allowed"
        )

    unknown = admin.http.post(
        f"/admin/teams/{team.team_id}/keys", json={"model_groups": ["no-such-group"]}
    )
    assert unknown.status_code == 422, unknown.text


def test_listing_keys_shows_status_and_never_a_secret(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10)
    secrets: dict[str, str] = {team.key_id: team.key}

    def create(**body: Any) -> str:
        made = admin.http.post(f"/admin/teams/{team.team_id}/keys", json=body)
        assert made.status_code == 201, made.text
        secrets[made.json()["key_id"]] = made.json()["key"]
        key_id: str = made.json()["key_id"]
        return key_id

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    expiring = create(name="expiring", expires_at=future)
    expired = create(name="expired", expires_at=past)
    revoked = create(name="revoked")
    assert admin.http.post(f"/admin/keys/{revoked}/revoke").status_code == 200
    to_rotate = create(name="rotated")
    rotated = admin.http.post(f"/admin/keys/{to_rotate}/rotate", json={"grace_seconds": 0})
    assert rotated.status_code == 201
    secrets[rotated.json()["key_id"]] = rotated.json()["key"]

    listing = admin.http.get(f"/admin/teams/{team.team_id}/keys")
    assert listing.status_code == 200, listing.text
    statuses = {k["key_id"]: k["status"] for k in listing.json()}
    assert statuses == {
        team.key_id: "active",
        expiring: "expiring",
        expired: "expired",
        revoked: "revoked",
        to_rotate: "expired",
        rotated.json()["key_id"]: "active",
    }
    for item in listing.json():
        assert "key" not in item
        assert item["prefix"] == secrets[item["key_id"]][: len(item["prefix"])]
        assert 0 < len(item["prefix"]) < len(secrets[item["key_id"]]) // 2
    for key_id, secret in secrets.items():
        assert secret not in listing.text
        single = admin.http.get(f"/admin/keys/{key_id}")
        assert single.status_code == 200
        assert "key" not in single.json()
        assert secret not in single.text


def test_revoked_key_cannot_be_rotated_or_updated(admin: Admin, team: TeamHandle) -> None:
    assert admin.http.post(f"/admin/keys/{team.key_id}/revoke").status_code == 200
    for response in (
        admin.http.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 0}),
        admin.http.patch(f"/admin/keys/{team.key_id}", json={"name": "back"}),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["type"] == "conflict_error"
        assert response.json()["error"]["code"] == "key_not_active"
    # Nothing was issued for the team by the refused rotation.
    listing = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert [k["key_id"] for k in listing] == [team.key_id]
    assert listing[0]["status"] == "revoked"
    assert listing[0]["replaced_by"] is None


def test_rotated_or_expired_key_cannot_be_rotated(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    """A second rotation would hand the old key's grace deadline to the new key as its
    expiry, and an expired key's successor would be expired at birth."""
    first = admin.http.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 3600})
    assert first.status_code == 201, first.text
    again = admin.http.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 3600})
    assert again.status_code == 409, again.text
    assert first.json()["key_id"] in again.json()["error"]["message"]
    old = _key_info(admin, team.key_id)
    assert old["replaced_by"] == first.json()["key_id"]
    assert old["status"] == "expiring"
    replacement = _key_info(admin, first.json()["key_id"])
    assert replacement["status"] == "active"
    assert replacement["expires_at"] is None

    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    expired = admin.http.post(f"/admin/teams/{team.team_id}/keys", json={"expires_at": past})
    assert expired.status_code == 201, expired.text
    refused = admin.http.post(f"/admin/keys/{expired.json()['key_id']}/rotate", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "key_not_active"
    keys = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert len(keys) == 3  # the team key, its one replacement, the expired key
    with _client(gateway, first.json()["key"]) as client:
        assert _create_job(client).status_code == 200


def test_a_key_cannot_widen_its_teams_access(admin: Admin) -> None:
    team = admin.team(credits=5, default_model_group="default", model_groups=["default"])
    outside = admin.http.post(f"/admin/teams/{team.team_id}/keys", json={"model_groups": ["slow"]})
    assert outside.status_code == 422, outside.text
    assert outside.json()["error"]["param"] == "model_groups"
    widened = admin.http.patch(f"/admin/keys/{team.key_id}", json={"model_groups": ["slow"]})
    assert widened.status_code == 422, widened.text
    inside = admin.http.post(
        f"/admin/teams/{team.team_id}/keys", json={"model_groups": ["default"]}
    )
    assert inside.status_code == 201, inside.text


async def test_concurrent_rotations_leave_one_successor(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=5)
    operator = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=operator) as client:
        answers = await asyncio.gather(
            *[
                client.post(f"/admin/keys/{team.key_id}/rotate", json={"grace_seconds": 60})
                for _ in range(6)
            ]
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 5, [a.text for a in answers]
    keys = admin.http.get(f"/admin/teams/{team.team_id}/keys").json()
    assert len(keys) == 2  # the old key and exactly one successor


def test_unknown_key_is_404(admin: Admin) -> None:
    for response in (
        admin.http.get("/admin/keys/key_nope"),
        admin.http.post("/admin/keys/key_nope/revoke"),
        admin.http.post("/admin/keys/key_nope/rotate", json={}),
        admin.http.patch("/admin/keys/key_nope", json={"name": "x"}),
    ):
        assert response.status_code == 404, response.text
