"""Real PostgreSQL for the tests: a throwaway database per session, or a clear skip.

``SAASLLM_REQUIRE_SERVICES=1`` (set by CI) turns a missing service into a failure,
so a green CI run always means the PostgreSQL tests ran.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

PG_HOST = os.environ.get("SAASLLM_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SAASLLM_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SAASLLM_TEST_PG_USER", os.environ.get("USER", "root") or "root")


def services_required() -> bool:
    return os.environ.get("SAASLLM_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (SAASLLM_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> str:
    """Create a fresh database and return its SQLAlchemy URL, or skip/fail when PG is absent."""
    name = f"saasllm_test_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, ImportError) as exc:
        unavailable(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}: {exc}")
    except Exception as exc:  # asyncpg's auth/role errors have no narrower common base
        unavailable(f"PostgreSQL refused to create a test database: {exc}")
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
