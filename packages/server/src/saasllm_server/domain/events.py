"""Change events: how every cache learns that the data behind it changed.

Domain services publish one :class:`Change` after each committed write; caches
subscribe instead of being invalidated by hand, so a new write path cannot
forget one. The bus here delivers within the process. A bus shared by several
replicas (Redis pub/sub, PostgreSQL LISTEN/NOTIFY) implements the same
protocol, delivering each change to every replica's subscribers, this one's
included, and :meth:`Change.encode`/:meth:`Change.decode` are its wire format.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

log = logging.getLogger("saasllm.events")


class ChangeKind(StrEnum):
    KEY = "key"
    ADMIN_KEY = "admin_key"
    TEAM = "team"
    ORGANIZATION = "organization"
    BALANCE = "balance"
    MODEL_GROUPS = "model_groups"


@dataclass(frozen=True, slots=True)
class Change:
    """What changed (``kind``) and which one (a key id, team id, group name...)."""

    kind: ChangeKind
    subject: str

    def encode(self) -> str:
        return f"{self.kind.value}:{self.subject}"

    @classmethod
    def decode(cls, text: str) -> Change:
        kind, _, subject = text.partition(":")
        return cls(ChangeKind(kind), subject)


Subscriber = Callable[[Change], Awaitable[None]]


class EventBus(Protocol):
    def subscribe(self, subscriber: Subscriber) -> None: ...

    async def publish(self, change: Change) -> None:
        """Returns once this process's subscribers have seen the change, so the writer's
        next request here already reads fresh data."""
        ...


class InProcessEventBus:
    """One process: delivery is a direct call to each subscriber."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, change: Change) -> None:
        await deliver(self._subscribers, change)


async def deliver(subscribers: list[Subscriber], change: Change) -> None:
    """A failing subscriber (a reload that hit a database error, say) must not keep the
    change from the others; its cache catches up at its next expiry."""
    for subscriber in subscribers:
        try:
            await subscriber(change)
        except Exception:
            log.exception("a subscriber failed on %s", change.encode())
