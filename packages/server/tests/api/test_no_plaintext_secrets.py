"""No key secret is ever stored: a whole-database dump after a real session holds only hashes.

Runs on SQLite and PostgreSQL. The dump reads every table the database has (not a
list kept here), so a new table that leaked a secret would be caught too.
"""

from __future__ import annotations

import hashlib
import secrets

import httpx
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import db
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin

MSG = [{"role": "user", "content": "say something"}]


def _dump_tables(conn: Connection) -> dict[str, list[str]]:
    dialect = conn.dialect
    dump: dict[str, list[str]] = {}
    for name in inspect(conn).get_table_names():
        quoted = dialect.identifier_preparer.quote(name)
        rows = conn.execute(text(f"SELECT * FROM {quoted}")).all()  # a reflected name, quoted
        dump[name] = [repr(value) for row in rows for value in row]
    return dump


async def _dump(url: str) -> dict[str, list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_dump_tables)
    finally:
        await engine.dispose()


def _use_key(gateway: GatewayProcess, key: str, team_id: str) -> None:
    """A job with a call, a streamed call and a completion, then an OpenAI-style call."""
    with httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        created = client.post("/api/jobs/create", json={"job_type": "secrets", "user_id": "user-1"})
        assert created.status_code == 200, created.text
        assert created.json()["team_id"] == team_id
        job_id = created.json()["job_id"]
        call = client.post(
            f"/api/jobs/{job_id}/llm-call", json={"model": "default", "messages": MSG}
        )
        assert call.status_code == 200, call.text
        stream = client.post(
            f"/api/jobs/{job_id}/llm-call-stream", json={"model": "default", "messages": MSG}
        )
        assert stream.status_code == 200, stream.text
        done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
        compat = client.post("/v1/chat/completions", json={"model": "default", "messages": MSG})
        assert compat.status_code == 200, compat.text


async def test_database_holds_hashes_never_secrets(gateway: GatewayProcess, admin: Admin) -> None:
    team_secrets: list[str] = []
    admin_secrets: list[str] = []

    first = admin.team(credits=50)
    team_secrets.append(first.key)
    named = admin.http.post(
        f"/admin/teams/{first.team_id}/keys", json={"name": "named", "model_groups": ["default"]}
    )
    assert named.status_code == 201, named.text
    team_secrets.append(named.json()["key"])

    operator = admin.http.post("/admin/admin-keys", json={"name": "ops", "scope": "full"})
    assert operator.status_code == 201, operator.text
    admin_secrets.append(operator.json()["key"])
    reader = admin.http.post("/admin/admin-keys", json={"name": "dash", "scope": "read"})
    assert reader.status_code == 201, reader.text
    admin_secrets.append(reader.json()["key"])
    assert admin.http.post(f"/admin/admin-keys/{reader.json()['key_id']}/revoke").status_code == 200

    # A second team and its key, made with the admin key rather than the root key.
    async with httpx.AsyncClient(
        base_url=gateway.url,
        headers={"Authorization": f"Bearer {operator.json()['key']}"},
        timeout=30,
    ) as ops:
        second_id = f"team-{secrets.token_hex(4)}"
        made = await ops.post(
            "/admin/teams",
            json={
                "id": second_id,
                "organization_id": "tests",
                "credits": 50,
                "default_model_group": "default",
                "model_groups": ["default"],
            },
        )
        assert made.status_code == 201, made.text
        second_key = await ops.post(f"/admin/teams/{second_id}/keys", json={"name": "second"})
        assert second_key.status_code == 201, second_key.text
        team_secrets.append(second_key.json()["key"])
        rotated = await ops.post(
            f"/admin/keys/{second_key.json()['key_id']}/rotate", json={"grace_seconds": 600}
        )
        assert rotated.status_code == 201, rotated.text
        team_secrets.append(rotated.json()["key"])
        assert (await ops.get("/admin/audit")).status_code == 200

    for key in team_secrets[:2]:
        _use_key(gateway, key, first.team_id)
    for key in team_secrets[2:]:
        _use_key(gateway, key, second_id)
    # Every call's record is in the database before it is read (SQLite writes behind).
    await db.calls(gateway.database_url, first.team_id, 6)
    await db.calls(gateway.database_url, second_id, 6)

    dump = await _dump(gateway.database_url)
    assert {"api_keys", "admin_keys", "audit_log", "jobs", "llm_calls", "credit_ledger"} <= set(
        dump
    )
    everything = "\n".join(value for values in dump.values() for value in values)
    for secret in [*team_secrets, *admin_secrets, ADMIN_KEY]:
        assert len(secret) >= 20
        leaked = [table for table, values in dump.items() if any(secret in v for v in values)]
        assert leaked == [], f"a secret ({secret[:8]}...) is stored in {leaked}"
    # The dump did see the keys: each one's hash is there, in its own table.
    for secret in team_secrets:
        assert _stored_hash(secret) in dump["api_keys"], secret[:8]
    for secret in admin_secrets:
        assert _stored_hash(secret) in dump["admin_keys"], secret[:8]
    assert first.team_id in everything
    assert second_id in everything

    # Nor does the gateway's log hold one.
    log = gateway.log_path.read_text(errors="replace")
    for secret in [*team_secrets, *admin_secrets, ADMIN_KEY]:
        assert secret not in log


def _stored_hash(secret: str) -> str:
    """The SHA-256 hex digest as the dump shows a stored string value."""
    return repr(hashlib.sha256(secret.encode()).hexdigest())
