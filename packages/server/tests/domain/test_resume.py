"""The resume log: numbering, following a growing log, expiry after the retention."""

from __future__ import annotations

import asyncio

import pytest

from saasllm_server.domain.resume import InProcessResumeStore, parse_last_event_id
from saasllm_server.errors import InvalidRequest, NotFound


async def test_events_are_numbered_and_a_follower_gets_the_rest() -> None:
    store = InProcessResumeStore()
    log = store.open("s1", "team", "job")
    log.append(b"data: a\n\n")
    log.append(b"data: b\n\n")
    follower = log.follow(1)
    assert await anext(follower) == b"id: s1:2\ndata: b\n\n"
    pending = asyncio.ensure_future(anext(follower))
    await asyncio.sleep(0)
    assert not pending.done()
    log.close(b"data: [DONE]\n\n", retention_s=60)
    assert await pending == b"id: s1:3\ndata: [DONE]\n\n"
    with pytest.raises(StopAsyncIteration):
        await anext(follower)


async def test_finished_logs_expire_and_open_ones_stay() -> None:
    store = InProcessResumeStore()
    finished = store.open("done", "team", "job")
    store.open("live", "team", "job")
    finished.close(b"data: [DONE]\n\n", retention_s=0)
    await asyncio.sleep(0.01)
    with pytest.raises(NotFound):
        store.find("done", "team", "job")
    assert store.find("live", "team", "job").stream_id == "live"
    with pytest.raises(NotFound):
        store.find("live", "other-team", "job")
    assert len(store) == 1


def test_last_event_id_format() -> None:
    assert parse_last_event_id("abc:12") == ("abc", 12)
    for bad in ("abc", ":3", "abc:x", "abc:-1"):
        with pytest.raises(InvalidRequest):
            parse_last_event_id(bad)
