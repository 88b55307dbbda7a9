"""Apply the declarative config's tenancy (orgs, teams, keys, credits, model groups).

Idempotent: running it at every start-up changes nothing the second time, and
credits are granted only when a team is first created, so a restart never
refills a balance.
"""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import BillingSettings
from saasllm_server.domain.tenancy import display_prefix, hash_key
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import utcnow
from saasllm_server.upstreams.config import GatewayConfig

_BOOTSTRAP_LOCK_ID = 7_231_004_118


async def apply_bootstrap(engine: AsyncEngine, config: GatewayConfig) -> None:
    now = utcnow()
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_BOOTSTRAP_LOCK_ID})"))
        for group in config.model_groups:
            await store.replace_model_group(conn, group, now)
        for org in config.organizations:
            await store.upsert_organization(conn, org.id, org.name or org.id, now)
            for team in org.teams:
                await store.upsert_team(
                    conn,
                    {
                        "id": team.id,
                        "organization_id": org.id,
                        "name": team.name or team.id,
                        "status": team.status,
                        **team.model_dump(include=set(BillingSettings.model_fields)),
                        "default_model_group": team.default_model_group,
                        "rpm_limit": team.rpm_limit,
                        "max_concurrent_streams": team.max_concurrent_streams,
                    },
                    team.credits,
                    "bootstrap",
                    now,
                )
                groups = set(team.model_groups)
                if team.default_model_group:
                    groups.add(team.default_model_group)
                await store.set_team_groups(conn, team.id, sorted(groups))
                for key in team.keys:
                    key_hash = key.key_sha256 or hash_key(key.key or "")
                    prefix = display_prefix(key.key) if key.key else "sk-…"
                    await store.upsert_key(
                        conn,
                        key_id=key.id or f"key_{secrets.token_hex(8)}",
                        team_id=team.id,
                        key_hash=key_hash,
                        prefix=prefix,
                        name=key.name,
                        now=now,
                    )
