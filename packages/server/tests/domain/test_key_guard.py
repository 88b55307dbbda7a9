"""A storm of wrong keys costs no database work and locks no valid key out."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from saasllm_schema import KeyCreate
from saasllm_server.errors import AuthenticationFailed, RateLimited

from .conftest import ACTOR, Domain


@contextmanager
def counted_queries(domain: Domain) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = domain.gw.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_random_keys_are_throttled_without_queries(domain: Domain) -> None:
    team_id = await domain.team(credits=1)
    known = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="known"))
    fresh = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="fresh"))
    await domain.gw.auth.authenticate(f"Bearer {known.key}", client="10.9.9.9")
    client = f"10.0.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    unauthorized = 0
    waits: list[float | None] = []
    with counted_queries(domain) as queries:
        for _ in range(2000):
            try:
                await domain.gw.auth.authenticate(f"Bearer sk-{secrets.token_hex(16)}", client)
            except AuthenticationFailed:
                unauthorized += 1
            except RateLimited as limited:
                waits.append(limited.retry_after)
        # A key this process knows is never throttled, nor is a valid one it has not
        # seen yet: the storm from its address does not hold it up.
        principal = await domain.gw.auth.authenticate(f"Bearer {known.key}", client)
        assert principal.team_id == team_id
        principal = await domain.gw.auth.authenticate(f"Bearer {fresh.key}", client)
        assert principal.key_id == fresh.key_id
    assert unauthorized + len(waits) == 2000
    assert len(waits) > 1900
    assert all(wait is not None and 0 < wait <= 1 for wait in waits)
    assert len(queries) <= 25, len(queries)


async def test_a_repeated_wrong_key_is_refused_from_memory(domain: Domain) -> None:
    wrong = f"Bearer sk-{secrets.token_hex(16)}"
    with pytest.raises(AuthenticationFailed):
        await domain.gw.auth.authenticate(wrong)
    with counted_queries(domain) as queries:
        for _ in range(100):
            with pytest.raises(AuthenticationFailed):
                await domain.gw.auth.authenticate(wrong)
    assert queries == []
