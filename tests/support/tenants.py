"""Fresh teams per test, made through the real admin API, so tests never share a balance."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.gateway import ADMIN_KEY

TEST_GROUPS = [
    "default",
    "priced",
    "slow",
    "fallback",
    "ratelimited",
    "cut",
    "stall",
    "hang",
    "flood",
]


@dataclass(frozen=True)
class TeamHandle:
    team_id: str
    key: str
    key_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Admin:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
        )
        self._org_ready = False

    def _ensure_org(self) -> None:
        if not self._org_ready:
            response = self.http.post("/admin/organizations", json={"id": "tests", "name": "Tests"})
            assert response.status_code in (201, 409), response.text
            self._org_ready = True

    def team(
        self,
        *,
        credits: int = 100,
        default_model_group: str | None = "default",
        model_groups: list[str] | None = None,
        **extra: Any,
    ) -> TeamHandle:
        self._ensure_org()
        team_id = f"team-{secrets.token_hex(4)}"
        body = {
            "id": team_id,
            "organization_id": "tests",
            "credits": credits,
            "default_model_group": default_model_group,
            "model_groups": TEST_GROUPS if model_groups is None else model_groups,
            **extra,
        }
        response = self.http.post("/admin/teams", json=body)
        assert response.status_code == 201, response.text
        key = self.http.post(f"/admin/teams/{team_id}/keys", json={})
        assert key.status_code == 201, key.text
        return TeamHandle(team_id, key.json()["key"], key.json()["key_id"])

    def get_team(self, team_id: str) -> dict[str, Any]:
        response = self.http.get(f"/admin/teams/{team_id}")
        assert response.status_code == 200, response.text
        team: dict[str, Any] = response.json()
        return team

    def balance(self, team_id: str) -> int:
        response = self.http.get(f"/admin/teams/{team_id}")
        assert response.status_code == 200, response.text
        value: int = response.json()["credits_remaining"]
        return value

    def set_balance(self, team_id: str, target: int) -> None:
        delta = target - self.balance(team_id)
        if delta:
            response = self.http.post(
                f"/admin/teams/{team_id}/credits", json={"amount": delta, "reason": "test"}
            )
            assert response.status_code == 200, response.text

    def update_team(self, team_id: str, **changes: Any) -> None:
        response = self.http.patch(f"/admin/teams/{team_id}", json=changes)
        assert response.status_code == 200, response.text
