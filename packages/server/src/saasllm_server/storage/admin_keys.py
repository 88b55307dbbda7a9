"""Admin API keys: stored as SHA-256 hashes with a display prefix, like team keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_server.storage.tables import admin_keys


async def find(conn: AsyncConnection, key_hash: str) -> Any:
    """The active key with this hash, or None."""
    return (
        await conn.execute(
            select(admin_keys).where(
                admin_keys.c.key_hash == key_hash, admin_keys.c.revoked_at.is_(None)
            )
        )
    ).first()


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(admin_keys).values(**values))


async def get(conn: AsyncConnection, key_id: str) -> Any:
    return (await conn.execute(select(admin_keys).where(admin_keys.c.id == key_id))).first()


async def all_keys(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(select(admin_keys).order_by(admin_keys.c.created_at))).all())


async def revoke(conn: AsyncConnection, key_id: str, now: datetime) -> bool:
    result = await conn.execute(
        update(admin_keys)
        .where(admin_keys.c.id == key_id, admin_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
