"""The audit log: one row per admin action, written in the action's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_server.storage.tables import audit_log


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        insert(audit_log).values(at=now, actor=actor, action=action, target=target, details=details)
    )


async def entries(
    conn: AsyncConnection,
    *,
    before_id: int | None,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
) -> list[Any]:
    query = select(audit_log)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if target is not None:
        query = query.where(audit_log.c.target == target)
    return list((await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))).all())
