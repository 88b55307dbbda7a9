"""The domain layer on real databases, without HTTP: the gateway's services built as
the server builds them, driven directly, on SQLite and on PostgreSQL.

These tests run in seconds (``nox -s tests -- packages/server/tests/domain``); the
socket tests under ``tests/api`` prove what crosses the wire.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from saasllm_schema import OrganizationCreate, TeamCreate
from saasllm_server.bootstrap import apply_bootstrap
from saasllm_server.domain.events import Change
from saasllm_server.services import Gateway
from saasllm_server.settings import Settings
from saasllm_server.storage.database import create_engine, migrate
from saasllm_server.upstreams.config import GatewayConfig
from tests.support import services

ACTOR = "admin:test"


@dataclass
class EventLog:
    """Every change the bus delivered, in order."""

    seen: list[Change] = field(default_factory=list)

    async def __call__(self, change: Change) -> None:
        self.seen.append(change)

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[Change]:
        return self.seen[mark:]


@dataclass
class Domain:
    gw: Gateway
    events: EventLog
    org_id: str

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    async def team(self, **settings: object) -> str:
        team_id = self.new_id("team")
        body = TeamCreate.model_validate(
            {
                "id": team_id,
                "organization_id": self.org_id,
                "default_model_group": "default",
                **settings,
            }
        )
        await self.gw.tenancy.create_team(ACTOR, body)
        return team_id


def _config() -> GatewayConfig:
    # Nothing here calls an upstream: the deployment only has to be valid for litellm.
    return GatewayConfig.model_validate(
        {
            "model_list": [
                {
                    "model_name": "fake",
                    "litellm_params": {
                        "model": "openai/fake",
                        "api_base": "http://127.0.0.1:9/v1",
                        "api_key": "sk-none",
                    },
                }
            ],
            "model_groups": [{"name": "default", "members": ["fake"]}],
        }
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def domain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Domain]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("domain") / "gateway.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        # create_database runs its own event loop: off this one.
        url = await asyncio.to_thread(services.create_database)
    # Long cache lifetimes: only a change event can explain a fresh read.
    settings = Settings(database_url=url, key_cache_ttl_s=600, admission_cache_ttl_s=600)
    engine = create_engine(url)
    await migrate(engine)
    gw = Gateway.build(settings, _config(), engine)
    await apply_bootstrap(engine, gw.config)
    await gw.model_groups.reload()
    events = EventLog()
    gw.bus.subscribe(events)
    org_id = f"org-{secrets.token_hex(4)}"
    await gw.tenancy.create_organization(ACTOR, OrganizationCreate(id=org_id))
    try:
        yield Domain(gw, events, org_id)
    finally:
        await gw.jobs.close()
        await engine.dispose()
        if request.param == "postgresql":
            await asyncio.to_thread(services.drop_database, url)
