"""The SDK against a real gateway process, on SQLite and on PostgreSQL.

Every test gets a fresh team from the real admin API, so balances and limits
never leak between tests; answers come from the deterministic fake upstream.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from typing import Any

import httpx
import pytest

import saasllm
from saasllm import SaaSLLMClient, SyncSaaSLLMClient
from saasllm_testing.fake import answer_text, count_prompt_tokens, tokens_for
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

POEM = "Write a short poem about Python"
MESSAGES = [{"role": "user", "content": POEM}]
# Long enough that the `slow` group (200 ms a token) is still streaming when a test is done.
LONG = "Write a technical blog post about microservices (500 words)"
LONG_MESSAGES = [{"role": "user", "content": LONG}]


def async_client(gateway: GatewayProcess, team: TeamHandle, **options: Any) -> SaaSLLMClient:
    return SaaSLLMClient(
        base_url=gateway.url, team_id=team.team_id, virtual_key=team.key, **options
    )


def sync_client(gateway: GatewayProcess, team: TeamHandle, **options: Any) -> SyncSaaSLLMClient:
    return SyncSaaSLLMClient(
        base_url=gateway.url, team_id=team.team_id, virtual_key=team.key, **options
    )


def expected_usage(prompt: str = POEM) -> dict[str, int]:
    prompt_tokens = count_prompt_tokens([{"role": "user", "content": prompt}])
    completion_tokens = len(tokens_for(prompt))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def check_completion(response: saasllm.ChatCompletion, group: str = "default") -> None:
    """Both audiences: the OpenAI shape and the documented job-API shape."""
    answer = answer_text(POEM)
    message = response.choices[0].message
    assert message["content"] == answer
    assert message.get("content", "") == answer
    assert message.content == answer
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.model_dump() == expected_usage()
    assert response.response.content == answer
    assert response.response.finish_reason == "stop"
    assert response.metadata.tokens_used == expected_usage()["total_tokens"]
    assert response.metadata.model_group == group
    assert response.call_id


def check_stream(chunks: list[saasllm.ChatCompletionChunk]) -> None:
    pieces = []
    for chunk in chunks:
        if chunk.choices:
            content = chunk.choices[0].delta.get("content", "")
            assert content is not None
            if content:
                pieces.append(content)
    assert pieces == tokens_for(POEM)
    assert "".join(pieces) == answer_text(POEM)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    # The SDK asks for usage: it arrives last, in a chunk without choices.
    last = chunks[-1]
    assert not last.choices
    assert last.usage is not None
    assert last.usage.model_dump() == expected_usage()


def check_result(result: saasllm.JobResult, credits_before: int, calls: int) -> None:
    assert result.status == "completed"
    assert result.credit_applied is True
    assert result.credits_remaining == credits_before - 1
    assert result["costs"]["credits_remaining"] == credits_before - 1
    assert result.costs.credits_remaining == credits_before - 1
    assert result.costs.get("total_cost_usd", 0) == 0  # the default group has no prices
    assert result.total_calls == calls
    assert result.costs.get("total_calls") == calls
    assert [c.model for c in result.calls] == ["openai/fake"] * calls
    assert all(c.status == "success" for c in result.calls)


# --- the happy path -----------------------------------------------------------------------


async def test_async_client_job_chat_stream_complete(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    async with async_client(gateway, team) as client:
        job_id = await client.create_job("sdk_e2e", {"suite": "e2e"})
        assert isinstance(job_id, str)
        assert job_id.job_id == job_id
        assert client.current_job_id == job_id

        check_completion(await client.chat(job_id, MESSAGES))

        chunks = [chunk async for chunk in client.chat_stream(job_id, MESSAGES)]
        check_stream(chunks)

        async with client.chat_stream(job_id, MESSAGES) as stream:
            assert await stream.final_text() == answer_text(POEM)
            assert stream.done
            assert stream.usage is not None
            assert stream.usage.model_dump() == expected_usage()

        job = await client.get_job(job_id)
        assert job.status == "in_progress"
        assert job.total_calls == 3
        assert job.model_groups_used == ["default"]

        result = await client.complete_job(job_id, "completed")
    check_result(result, credits_before=100, calls=3)
    assert admin.balance(team.team_id) == 99


async def test_sync_client_job_chat_stream_complete(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    with sync_client(gateway, team) as client:
        job_id = client.create_job("sdk_e2e_sync")
        assert job_id.job_id == job_id

        check_completion(client.chat(job_id, MESSAGES))

        chunks = list(client.chat_stream(job_id, MESSAGES))
        check_stream(chunks)

        with client.chat_stream(job_id, MESSAGES) as stream:
            assert "".join(stream.text_stream) == answer_text(POEM)
            assert stream.done
            assert stream.usage is not None

        result = client.complete_job(job_id, "COMPLETED")
    check_result(result, credits_before=100, calls=3)
    assert admin.balance(team.team_id) == 99


async def test_priced_group_reports_cost(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10, model_groups=["priced"])
    usage = expected_usage()
    cost = usage["prompt_tokens"] * 0.000001 + usage["completion_tokens"] * 0.000002
    async with async_client(gateway, team) as client:
        job_id = await client.create_job("priced")
        response = await client.chat(job_id, MESSAGES, model="priced")  # `model` = `model_group`
        assert response.metadata.model_group == "priced"
        assert response.metadata.cost_usd == pytest.approx(cost)
        result = await client.complete_job(job_id)
    assert result.costs.get("total_cost_usd", 0) == pytest.approx(cost)
    assert result.credits_remaining == 9


# --- typed errors ---------------------------------------------------------------------------


async def test_wrong_key_is_authentication_error(gateway: GatewayProcess, team: TeamHandle) -> None:
    async with SaaSLLMClient(
        base_url=gateway.url, team_id=team.team_id, virtual_key="sk-not-a-real-key"
    ) as client:
        with pytest.raises(saasllm.AuthenticationError) as info:
            await client.create_job("nope")
    assert isinstance(info.value, httpx.HTTPStatusError)
    assert info.value.response.status_code == 401
    assert info.value.status_code == 401


async def test_sync_wrong_key_is_authentication_error(
    gateway: GatewayProcess, team: TeamHandle
) -> None:
    with (
        SyncSaaSLLMClient(gateway.url, team.team_id, "sk-not-a-real-key") as client,
        pytest.raises(saasllm.AuthenticationError) as info,
    ):
        client.create_job("nope")
    assert isinstance(info.value, httpx.HTTPStatusError)
    assert info.value.response.status_code == 401


async def test_another_teams_job_is_not_found(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    other = admin.team(credits=10)
    async with async_client(gateway, team) as owner, async_client(gateway, other) as intruder:
        job_id = await owner.create_job("private")
        with pytest.raises(saasllm.NotFoundError) as info:
            await intruder.chat(job_id, MESSAGES)
        assert isinstance(info.value, httpx.HTTPStatusError)
        assert info.value.response.status_code == 404
        with pytest.raises(saasllm.NotFoundError):
            await intruder.get_job(job_id)
        with pytest.raises(saasllm.NotFoundError):
            async for _ in intruder.chat_stream(job_id, MESSAGES):
                pass
        with pytest.raises(saasllm.NotFoundError):
            await intruder.complete_job(job_id, "completed")
        # The owner's job is untouched.
        result = await owner.complete_job(job_id, "completed")
    assert result.total_calls == 0
    assert admin.balance(other.team_id) == 10


async def test_completing_twice_is_conflict(
    gateway: GatewayProcess, admin: Admin, team: TeamHandle
) -> None:
    async with async_client(gateway, team) as client:
        job_id = await client.create_job("twice")
        await client.complete_job(job_id, "completed")
        with pytest.raises(saasllm.ConflictError) as info:
            await client.complete_job(job_id, "completed")
        assert info.value.response.status_code == 409
        assert isinstance(info.value, saasllm.JobAlreadyCompletedError)
        with pytest.raises(saasllm.ConflictError):
            await client.chat(job_id, MESSAGES)
    assert admin.balance(team.team_id) == 99  # charged once


async def test_no_credits_is_insufficient_credits(gateway: GatewayProcess, admin: Admin) -> None:
    broke = admin.team(credits=0)
    async with async_client(gateway, broke) as client:
        with pytest.raises(saasllm.InsufficientCreditsError) as info:
            await client.create_job("broke")
    assert isinstance(info.value, saasllm.PermissionDeniedError)
    assert isinstance(info.value, httpx.HTTPStatusError)
    assert info.value.response.status_code == 403


async def test_upstream_rate_limit_is_rate_limit_error(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10, model_groups=["ratelimited"])
    async with async_client(gateway, team, max_retries=1) as client:
        job_id = await client.create_job("ratelimited")

        started = time.monotonic()
        with pytest.raises(saasllm.RateLimitError) as info:
            await client.chat(job_id, MESSAGES, model_group="ratelimited")
        assert time.monotonic() - started >= 1  # one retry after Retry-After: 1
        assert info.value.response.status_code == 429
        assert info.value.retry_after is not None
        assert info.value.retry_after >= 1
        assert not isinstance(info.value, saasllm.StreamError)

        with pytest.raises(saasllm.RateLimitError) as stream_info:
            async for _ in client.chat_stream(job_id, MESSAGES, model_group="ratelimited"):
                pass
        assert stream_info.value.response.status_code == 429
        assert stream_info.value.retry_after is not None
        assert not isinstance(stream_info.value, saasllm.StreamError)

        result = await client.complete_job(job_id, "failed")
    assert result.credits_remaining == 10
    assert result.total_calls >= 2
    assert all(c.status == "failed" for c in result.calls)


async def test_stream_cut_mid_way_raises_stream_error(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10, model_groups=["cut"])
    async with async_client(gateway, team) as client:
        job_id = await client.create_job("cut")
        received: list[str] = []
        with pytest.raises(saasllm.StreamError) as info:
            async with client.chat_stream(job_id, MESSAGES, model_group="cut") as stream:
                async for chunk in stream:
                    if chunk.choices:
                        content = chunk.choices[0].delta.get("content", "")
                        if content:
                            received.append(content)
        assert received == tokens_for(POEM)[:5]
        assert not stream.done  # no data: [DONE]
        assert isinstance(info.value, httpx.HTTPStatusError)
        assert info.value.response.status_code == 502  # the equivalent status, as documented
        assert isinstance(info.value, saasllm.StreamError)
        assert info.value.stream_response is not None
        assert info.value.stream_response.status_code == 200  # the failure came in the stream
        assert info.value.status_code >= 500

        # On the wire: the chunks, then an error event, and never [DONE].
        async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as http:
            raw = await http.post(
                f"/api/jobs/{job_id}/llm-call-stream",
                json={"messages": MESSAGES, "model_group": "cut"},
                timeout=30,
            )
        assert raw.status_code == 200
        assert "event: error" in raw.text
        assert "[DONE]" not in raw.text

        result = await client.complete_job(job_id, "failed")
    assert [c.status for c in result.calls] == ["failed", "failed"]


SLOT_RELEASE_S = 2.0


async def _full_stream(client: SaaSLLMClient, job_id: str) -> str:
    """A whole stream on the default group: it needs the team's only stream slot, which the
    gateway frees as soon as it notices the earlier stream's connection is gone (well
    before the slow answer would have ended by itself)."""
    deadline = time.monotonic() + SLOT_RELEASE_S
    while True:
        try:
            return await client.chat_stream(job_id, MESSAGES).final_text()
        except saasllm.RateLimitError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def _full_stream_sync(client: SyncSaaSLLMClient, job_id: str) -> str:
    deadline = time.monotonic() + SLOT_RELEASE_S
    while True:
        try:
            return client.chat_stream(job_id, MESSAGES).final_text()
        except saasllm.RateLimitError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _slot_team(admin: Admin) -> TeamHandle:
    return admin.team(credits=10, model_groups=["slow"], max_concurrent_streams=1)


async def test_closing_a_stream_early_frees_the_slot(gateway: GatewayProcess, admin: Admin) -> None:
    team = _slot_team(admin)
    # No retries: a 429 from a slot still held fails the test instead of being waited out.
    async with async_client(gateway, team, max_retries=0) as client:
        job_id = await client.create_job("break")
        started = time.monotonic()

        # Leaving `async with` closes the response on the spot.
        async with client.chat_stream(job_id, LONG_MESSAGES, model_group="slow") as stream:
            async for _ in stream:
                break
        assert await _full_stream(client, job_id) == answer_text(POEM)

        # So does an explicit aclose() after reading part of the answer.
        stream = client.chat_stream(job_id, LONG_MESSAGES, model_group="slow")
        first = await anext(stream)
        assert first.choices
        await stream.aclose()
        assert await _full_stream(client, job_id) == answer_text(POEM)

        # The slow answer takes about a minute: the slot came back long before that.
        assert time.monotonic() - started < 10
        # The gateway records the abandoned streams as cancelled once it has seen them go.
        for _ in range(100):
            if (await client.get_job(job_id)).total_calls == 4:
                break
            await asyncio.sleep(0.05)
        result = await client.complete_job(job_id, "completed")
    statuses = sorted(c.status for c in result.calls)
    assert statuses == ["cancelled", "cancelled", "success", "success"], statuses


async def test_sync_closing_a_stream_early_frees_the_slot(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = _slot_team(admin)
    with sync_client(gateway, team, max_retries=0) as client:
        job_id = client.create_job("break_sync")
        with client.chat_stream(job_id, LONG_MESSAGES, model_group="slow") as stream:
            for _ in stream:
                break
        assert _full_stream_sync(client, job_id) == answer_text(POEM)
        client.complete_job(job_id, "completed")


async def test_bare_break_frees_the_slot_without_the_cyclic_gc(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = _slot_team(admin)
    async with async_client(gateway, team, max_retries=0) as client:
        job_id = await client.create_job("bare_break")
        gc.disable()  # what the cyclic GC might do at random must not decide the outcome
        try:
            stream = client.chat_stream(job_id, LONG_MESSAGES, model_group="slow")
            alive = weakref.ref(stream)
            async for _ in stream:
                break
            del stream
            await asyncio.sleep(0)  # the loop's async-generator finalizer runs aclose()
            await asyncio.sleep(0)
            assert alive() is None, "the stream outlived the `async for` loop"
            assert await _full_stream(client, job_id) == answer_text(POEM)
        finally:
            gc.enable()
            gc.collect()


async def test_sync_bare_break_frees_the_slot_without_the_cyclic_gc(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = _slot_team(admin)
    with sync_client(gateway, team, max_retries=0) as client:
        job_id = client.create_job("bare_break_sync")
        gc.disable()
        try:
            stream = client.chat_stream(job_id, LONG_MESSAGES, model_group="slow")
            alive = weakref.ref(stream)
            for _ in stream:
                break
            del stream
            assert alive() is None, "the stream outlived the `for` loop"
            assert _full_stream_sync(client, job_id) == answer_text(POEM)
        finally:
            gc.enable()
            gc.collect()


async def test_fallback_group_answers_from_the_second_member(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=10, model_groups=["fallback"])
    async with async_client(gateway, team) as client:
        job_id = await client.create_job("fallback")
        check_completion(await client.chat(job_id, MESSAGES, model_group="fallback"), "fallback")
        chunks = [c async for c in client.chat_stream(job_id, MESSAGES, model_group="fallback")]
        check_stream(chunks)
        job = await client.get_job(job_id)
        assert job.model_groups_used == ["fallback"]
        assert job.total_calls == 2
        result = await client.complete_job(job_id, "completed")
    check_result(result, credits_before=10, calls=2)
    assert [c.model_group for c in result.calls] == ["fallback", "fallback"]
