"""Idempotency-Key replay, written once for every write that takes the header.

A retry with the same key returns what the first request made; two requests
racing with one key meet at a unique index, and the loser returns the winner's
result. ``earlier`` looks the key up (and raises ``IdempotencyKeyReused`` when
the same key made a different change).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

T = TypeVar("T")


async def once(
    key: str | None,
    earlier: Callable[[str], Awaitable[T | None]],
    first: Callable[[], Awaitable[T]],
) -> T:
    if key is not None:
        found = await earlier(key)
        if found is not None:
            return found
    try:
        return await first()
    except IntegrityError:
        if key is None:
            raise
        found = await earlier(key)
        if found is None:
            raise
        return found
