"""The one way an operator's change is written: a transaction, its audit entry in that
same transaction, then one change event once it is committed.

Publishing after the commit matters: a subscriber that reloads (model groups) or a
replica that receives the event must find the new rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saasllm_server.domain.events import Change, EventBus
from saasllm_server.storage import audit
from saasllm_server.storage.database import utcnow


@dataclass
class Write:
    """The open transaction of a change. ``details`` may be completed inside it (an entry's
    id, say) before the audit entry is written; ``event`` may be cleared when the change
    turned out to change nothing."""

    conn: AsyncConnection
    now: datetime
    details: dict[str, Any] = field(default_factory=dict)
    event: Change | None = None
    audited: bool = True


class ChangeWriter:
    def __init__(self, engine: AsyncEngine, bus: EventBus) -> None:
        self.engine = engine
        self.bus = bus

    @asynccontextmanager
    async def change(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        event: Change | None,
        details: dict[str, Any] | None = None,
    ) -> AsyncIterator[Write]:
        now = utcnow()
        async with self.engine.begin() as conn:
            write = Write(conn, now, dict(details or {}), event)
            yield write
            if write.audited:
                await audit.record(
                    conn,
                    actor=actor,
                    action=action,
                    target=target,
                    details=write.details,
                    now=write.now,
                )
        if write.event is not None:
            await self.bus.publish(write.event)
