"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL.

A column added to ``tables.py`` without a migration (or the reverse) would only
show up on an operator's upgraded database; alembic's comparison finds it here.
A database of the first release upgrades in place, keeping its ledger exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from saasllm_server.storage import database
from saasllm_server.storage.tables import metadata
from tests.support.services import create_database, drop_database


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    pg = create_database()
    try:
        yield pg
    finally:
        drop_database(pg)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_migrations_match_the_declared_tables(url: str) -> None:
    engine = database.create_engine(url)
    try:
        await database.migrate(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_a_first_release_database_upgrades_with_its_ledger(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0001")
            await conn.execute(
                text(
                    "INSERT INTO organizations (id, name, created_at) "
                    "VALUES ('o', 'o', CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO teams (id, organization_id, name, status, budget_mode, "
                    "credits_per_job, created_at) "
                    "VALUES ('t', 'o', 't', 'active', 'per_job', 1, CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO team_balances (team_id, balance, updated_at) "
                    "VALUES ('t', 7, CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO credit_ledger (team_id, kind, amount, balance_after, reason, "
                    "actor, created_at) VALUES ('t', 'grant', 7, 7, '', '', CURRENT_TIMESTAMP)"
                )
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "head")
            ledger = (await conn.execute(text("SELECT balance_before FROM credit_ledger"))).all()
            team = (
                await conn.execute(
                    text("SELECT tokens_per_credit, overdraft_limit FROM teams WHERE id = 't'")
                )
            ).one()
            reserved = await conn.scalar(text("SELECT reserved FROM team_balances"))
    finally:
        await engine.dispose()
    assert [row[0] for row in ledger] == [0]
    assert tuple(team) == (1000, 0)
    assert reserved == 0
