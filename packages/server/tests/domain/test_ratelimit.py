"""The in-process limiter's rules, directly (no clock mocking: windows are real time)."""

from __future__ import annotations

import pytest

from saasllm_server.domain.ratelimit import InProcessRateLimiter
from saasllm_server.errors import RateLimited


async def test_requests_per_minute_allows_the_limit_then_refuses() -> None:
    limiter = InProcessRateLimiter()
    for _ in range(3):
        await limiter.hit("t", 3)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("t", 3)
    assert refused.value.retry_after is not None
    assert 1 <= refused.value.retry_after <= 60
    await limiter.hit("other-team", 3)
    await limiter.hit("t", None)


async def test_stream_slots_are_per_team_and_released_once() -> None:
    limiter = InProcessRateLimiter()
    slot = await limiter.open_stream("t", 1)
    with pytest.raises(RateLimited) as refused:
        await limiter.open_stream("t", 1)
    assert refused.value.code.value == "concurrency_limited"
    await limiter.open_stream("u", 1)
    await slot.release()
    await slot.release()
    assert await limiter.open_streams("t") == 0
    await limiter.open_stream("t", 1)
