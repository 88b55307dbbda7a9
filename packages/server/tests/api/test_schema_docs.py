"""Strangers read the public API's description; the admin API's only with an admin key."""

from __future__ import annotations

import httpx

from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import TeamHandle


def test_the_public_document_has_no_admin_api(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert "/api/jobs/create" in document["paths"]
    assert "/v1/chat/completions" in document["paths"]
    assert not [path for path in document["paths"] if path.startswith("/admin")]
    schemas = set(document.get("components", {}).get("schemas", {}))
    assert not schemas & {"LedgerEntry", "AdminKeyCreate", "TeamCreate", "AuditEntry"}
    assert "admin" not in response.text.lower()
    page = httpx.get(f"{gateway.url}/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text


def test_the_admin_document_needs_an_admin_key(gateway: GatewayProcess, team: TeamHandle) -> None:
    url = f"{gateway.url}/admin/openapi.json"
    stranger = httpx.get(url)
    assert stranger.status_code == 401
    assert stranger.json()["error"]["code"] == "missing_api_key"
    as_team = httpx.get(url, headers=team.headers)
    assert as_team.status_code == 403
    assert as_team.json()["error"]["code"] == "team_key_not_admin"
    admin = httpx.get(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == 200
    paths = admin.json()["paths"]
    assert "/admin/teams" in paths
    assert "/api/jobs/create" in paths
    assert "/admin/openapi.json" not in paths
