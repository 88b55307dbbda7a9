"""Chat streams against a real gateway: chunks, in-stream errors, retries, and releasing the slot.

Whether a stream's HTTP response was closed is proved the way a user would
notice: the team is allowed one open stream, and the next stream gets it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from packages.sdk.tests.sdk_testkit import (
    LONG,
    LONG_MESSAGES,
    MESSAGES,
    POEM,
    Client,
    ClientFactory,
    FakeStats,
    OpenJob,
    Recorder,
    Stream,
    close_stream,
    collect,
    contents,
    resolve,
    stream_slot_frees,
)
from saasllm import (
    APIConnectionError,
    APITimeoutError,
    AsyncChatStream,
    ChatStream,
    InsufficientCreditsError,
    PermissionDeniedError,
    RateLimitError,
    SaaSLLMClient,
    StreamError,
    StreamUpstreamError,
    StreamUpstreamTimeoutError,
    UpstreamError,
    UpstreamTimeoutError,
)
from saasllm_testing.fake import (
    answer_text,
    count_prompt_tokens,
    example_from_schema,
    tokens_for,
)
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle


@pytest.fixture
def one_slot_team(admin: Admin) -> TeamHandle:
    """A team allowed a single open stream: a leaked response blocks its next stream."""
    return admin.team(credits=100, max_concurrent_streams=1)


@pytest.fixture
def one_slot_client(
    make_client: ClientFactory, sqlite_gateway: GatewayProcess, one_slot_team: TeamHandle
) -> Client:
    return make_client(sqlite_gateway.url, one_slot_team, max_retries=0)


# --- a whole stream -----------------------------------------------------------------


async def test_full_stream(client: Client) -> None:
    job_id = await resolve(client.create_job("stream"))
    stream = client.chat_stream(job_id, MESSAGES, temperature=0.7)
    chunks = await collect(stream)
    tokens = tokens_for(POEM)
    # The role chunk, one per token, the finish chunk (empty delta), then usage.
    assert [c.choices[0].delta.get("content", "") for c in chunks if c.choices] == [
        "",
        *tokens,
        "",
    ]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert stream.usage is not None
    assert stream.usage.completion_tokens == len(tokens)
    assert stream.usage.prompt_tokens == count_prompt_tokens(MESSAGES)
    assert stream.done
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    assert stream.response.is_closed
    message = await resolve(stream.get_final_message())
    assert message.content == answer_text(POEM)
    completion = await resolve(stream.get_final_completion())
    assert completion.choices[0].finish_reason == "stop"
    assert await resolve(stream.final_text()) == answer_text(POEM)


async def test_request_is_lazy_and_carries_stream_headers(
    client: Client, recorder: Recorder, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("stream"))
    recorder.clear()
    stream = client.chat_stream(job_id, MESSAGES, temperature=0.7)
    assert recorder.requests == []
    await collect(stream)
    (request,) = recorder.requests
    assert request.url.path == f"/api/jobs/{job_id}/llm-call-stream"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {team.key}"
    assert "idempotency-key" not in request.headers
    body = recorder.body()
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.7
    assert body["messages"] == MESSAGES


async def test_text_stream_and_helpers(client: Client) -> None:
    job_id = await resolve(client.create_job("stream"))
    stream = client.chat_stream(job_id, MESSAGES)
    if isinstance(stream, AsyncChatStream):
        async with stream:
            texts = [t async for t in stream.text_stream]
    else:
        with stream:
            texts = list(stream.text_stream)
    assert texts == tokens_for(POEM)
    assert stream.accumulator.text == answer_text(POEM)


async def test_concurrent_streams_on_one_client(
    sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    """Seed example 8: three streams at once on one client keep their own state."""
    async with SaaSLLMClient(sqlite_gateway.url, team.team_id, team.key) as client:
        job_id = await client.create_job("concurrent")

        async def ask(question: str) -> str:
            text = ""
            messages = [{"role": "user", "content": question}]
            async for c in client.chat_stream(job_id, messages, model="slow", max_tokens=4):
                if c.choices:
                    content = c.choices[0].delta.get("content", "")
                    if content:
                        text += content
            return text

        questions = ["first question here", "second one", "and the third question"]
        started = time.monotonic()
        results = await asyncio.gather(*(ask(q) for q in questions))
        # 4 tokens 200 ms apart: about 0.6 s each, so together well under the 1.8 s in a row.
        assert time.monotonic() - started < 1.5
    for question, text in zip(questions, results, strict=True):
        assert text == "".join(tokens_for(question, 4))


async def test_structured_output_stream(client: Client, recorder: Recorder) -> None:
    class Point(BaseModel):
        x: int
        label: str

    job_id = await resolve(client.create_job("stream"))
    pieces: list[str] = []
    if isinstance(client, SaaSLLMClient):
        async for piece in client.structured_output_stream(job_id, MESSAGES, response_model=Point):
            pieces.append(piece)
    else:
        pieces.extend(client.structured_output_stream(job_id, MESSAGES, response_model=Point))
    assert len(pieces) > 1  # it really streamed
    assert Point.model_validate_json("".join(pieces)) == Point.model_validate(
        example_from_schema(Point.model_json_schema())
    )
    assert recorder.body()["response_format"]["json_schema"]["name"] == "Point"


# --- errors before the first byte ---------------------------------------------------------


async def test_error_status_before_first_byte(
    client: Client, recorder: Recorder, admin: Admin, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("stream"))
    admin.set_balance(team.team_id, 0)
    recorder.clear()
    stream = client.chat_stream(job_id, MESSAGES)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await collect(stream)
    assert isinstance(caught.value, InsufficientCreditsError)
    assert not isinstance(caught.value, StreamError)
    assert caught.value.response.status_code == 403
    assert caught.value.response.json()["error"]["code"] == "insufficient_credits"
    assert len(recorder.requests) == 1

    admin.set_balance(team.team_id, 100)
    recorder.clear()
    with pytest.raises(PermissionDeniedError) as denied:
        await collect(client.chat_stream(job_id, MESSAGES, model="secret"))
    assert denied.value.response.status_code == 403
    assert denied.value.response.json()["error"]["code"] == "model_group_not_allowed"
    assert len(recorder.requests) == 1


async def test_rate_limit_before_first_byte_is_retried(
    make_client: ClientFactory,
    recorder: Recorder,
    sqlite_gateway: GatewayProcess,
    one_slot_team: TeamHandle,
) -> None:
    """The team's only slot is taken: 429 (Retry-After 1); the slot frees; the retry streams."""
    client = make_client(sqlite_gateway.url, one_slot_team, max_retries=1)
    job_id = await resolve(client.create_job("stream"))
    async with SaaSLLMClient(sqlite_gateway.url, one_slot_team.team_id, one_slot_team.key) as other:
        holder = other.chat_stream(job_id, LONG_MESSAGES, model="slow")
        await anext(holder)  # holds the slot (and has the stream id the SDK cancels by)
        recorder.clear()
        # Free the slot while the client waits out the Retry-After.
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, lambda: asyncio.ensure_future(holder.aclose()))
        stream = client.chat_stream(job_id, MESSAGES)
        if isinstance(stream, AsyncChatStream):
            chunks = await collect(stream)
        else:
            # The blocking client would block the loop that frees the slot; give it a thread.
            chunks = await asyncio.to_thread(lambda: list(stream))
    assert "".join(contents(chunks)) == answer_text(POEM)
    assert recorder.retry_counts() == ["0", "1"]


async def test_rate_limit_surfaces_as_http_status_error(
    open_job: OpenJob, recorder: Recorder, fake: FakeStats
) -> None:
    """No retries left (the retry itself is covered above and in test_clients)."""
    client, job_id = await open_job(max_retries=0)
    before = fake.requests_for("fake-429-r1")
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await collect(client.chat_stream(job_id, MESSAGES, model="ratelimited"))
    assert isinstance(caught.value, RateLimitError)
    assert not isinstance(caught.value, StreamError)
    assert caught.value.response.status_code == 429
    assert caught.value.response.json()["error"]["code"] == "upstream_rate_limited"
    assert caught.value.retry_after == 1.0
    assert recorder.retry_counts() == ["0"]
    assert fake.requests_for("fake-429-r1") - before == 1


# --- errors inside the stream ----------------------------------------------------------------


async def test_error_event_after_chunks_cut(client: Client) -> None:
    """The `cut` upstream breaks off after 5 tokens; the gateway sends ``event: error``."""
    job_id = await resolve(client.create_job("stream"))
    stream = client.chat_stream(job_id, MESSAGES, model="cut")
    seen: list[Any] = []
    with pytest.raises(StreamError) as caught:
        await collect(stream, seen)
    assert contents(seen) == tokens_for(POEM)[:5]
    for cls in (StreamUpstreamError, UpstreamError, httpx.HTTPStatusError):
        assert isinstance(caught.value, cls)
    assert caught.value.status_code == 502
    assert caught.value.error_type == "upstream_error"
    # What documented code reads (e.response.status_code) is the equivalent status.
    assert caught.value.response.status_code == 502
    assert caught.value.stream_response is not None
    assert caught.value.stream_response.status_code == 200
    # The client hears what failed, not our internals (deployment ids, driver errors).
    assert "the model provider failed" in str(caught.value)
    assert not stream.done
    assert stream.response.is_closed


async def test_error_event_after_chunks_stall(
    make_client: ClientFactory, faults: GatewayProcess, faults_team: TeamHandle
) -> None:
    """The `stall` upstream goes silent; the faults gateway gives up after 1 s of silence."""
    client = make_client(faults.url, faults_team)
    job_id = await resolve(client.create_job("stream"))
    stream = client.chat_stream(job_id, MESSAGES, model="stall")
    seen: list[Any] = []
    with pytest.raises(StreamError) as caught:
        await collect(stream, seen)
    assert contents(seen) == tokens_for(POEM)[:1]
    for cls in (StreamUpstreamTimeoutError, UpstreamTimeoutError, httpx.HTTPStatusError):
        assert isinstance(caught.value, cls)
    assert caught.value.status_code == 504
    assert caught.value.response.status_code == 504
    assert caught.value.stream_response is not None
    assert caught.value.stream_response.status_code == 200
    assert stream.response.is_closed


async def test_read_timeout_during_iteration(
    make_client: ClientFactory,
    sqlite_gateway: GatewayProcess,
    one_slot_team: TeamHandle,
) -> None:
    """The client's own read timeout on a stalled stream: a timeout, and the slot comes back."""
    client = make_client(sqlite_gateway.url, one_slot_team, timeout=0.5)
    job_id = await resolve(client.create_job("stream"))
    stream = client.chat_stream(job_id, MESSAGES, model="stall")
    seen: list[Any] = []
    with pytest.raises(APITimeoutError) as caught:
        await collect(stream, seen)
    assert isinstance(caught.value, TimeoutError)  # what `except asyncio.TimeoutError` catches
    assert "ReadTimeout" in str(caught.value)
    assert not isinstance(caught.value, httpx.HTTPError)
    assert contents(seen) == tokens_for(POEM)[:1]
    assert stream.response.is_closed
    assert await stream_slot_frees(sqlite_gateway.url, one_slot_team) < 3


LOST_CAUSE = (
    "SDK bug: _streaming.py (AsyncChatStream._iterate / ChatStream._iterate) builds the "
    "wrapped error inside `except _TRANSPORT_ERRORS as exc:` but raises it later outside the "
    "except block (`raise failure`), so the httpx exception is neither __cause__ nor __context__"
)


async def test_transport_error_during_iteration_keeps_its_cause(
    make_client: ClientFactory, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    client = make_client(sqlite_gateway.url, team, timeout=0.3)
    job_id = await resolve(client.create_job("stream"))
    with pytest.raises(APITimeoutError) as caught:
        await collect(client.chat_stream(job_id, MESSAGES, model="stall"))
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


# --- closing ---------------------------------------------------------------------------------


async def test_context_manager_closes_on_early_exit(
    one_slot_client: Client, sqlite_gateway: GatewayProcess, one_slot_team: TeamHandle
) -> None:
    job_id = await resolve(one_slot_client.create_job("stream"))
    stream = one_slot_client.chat_stream(job_id, LONG_MESSAGES, model="slow")
    if isinstance(stream, AsyncChatStream):
        async with stream:
            async for _ in stream:
                break
    else:
        with stream:
            for _ in stream:
                break
    assert stream.response.is_closed
    # The slot is back long before the minute the slow answer would take.
    assert await stream_slot_frees(sqlite_gateway.url, one_slot_team) < 3
    # Closing again is harmless, and a closed stream yields nothing more.
    await close_stream(stream)
    assert await collect(stream) == []


async def test_aclose_after_partial_read(
    one_slot_client: Client, sqlite_gateway: GatewayProcess, one_slot_team: TeamHandle
) -> None:
    job_id = await resolve(one_slot_client.create_job("stream"))
    stream = one_slot_client.chat_stream(job_id, LONG_MESSAGES, model="slow")
    first = await collect_first(stream, 3)
    assert "".join(contents(first)) == "".join(tokens_for(LONG)[:2])
    await close_stream(stream)
    assert stream.response.is_closed
    assert await stream_slot_frees(sqlite_gateway.url, one_slot_team) < 3


async def collect_first(stream: Stream, n: int) -> list[Any]:
    seen: list[Any] = []
    if isinstance(stream, AsyncChatStream):
        async for item in stream:
            seen.append(item)
            if len(seen) == n:
                break
    else:
        for item in stream:
            seen.append(item)
            if len(seen) == n:
                break
    return seen


async def test_bare_break_closes_the_response(
    one_slot_client: Client,
    recorder: Recorder,
    sqlite_gateway: GatewayProcess,
    one_slot_team: TeamHandle,
) -> None:
    """A bare ``break``: the response is closed once the dropped stream is collected.

    The stream and its generator form a reference cycle, so it takes the cyclic
    collector (``gc.collect()`` here, at random times in a real program).
    """
    job_id = await resolve(one_slot_client.create_job("stream"))
    recorder.clear()
    if isinstance(one_slot_client, SaaSLLMClient):
        async for _ in one_slot_client.chat_stream(job_id, LONG_MESSAGES, model="slow"):
            break
    else:
        for _ in one_slot_client.chat_stream(job_id, LONG_MESSAGES, model="slow"):
            break
    (response,) = recorder.stream_responses()
    for _ in range(5):
        gc.collect()
        await asyncio.sleep(0)  # the loop's async-generator finalizer runs aclose()
    assert response.is_closed
    assert await stream_slot_frees(sqlite_gateway.url, one_slot_team) < 3


async def test_cancellation_by_asyncio_timeout_releases_the_slot(
    sqlite_gateway: GatewayProcess, one_slot_team: TeamHandle, recorder: Recorder
) -> None:
    factory = ClientFactory("async", recorder)
    client = factory(sqlite_gateway.url, one_slot_team, max_retries=0)
    assert isinstance(client, SaaSLLMClient)
    job_id = await client.create_job("stream")
    seen: list[str] = []

    async def read_with_deadline() -> None:
        async with asyncio.timeout(0.5):
            async for c in client.chat_stream(job_id, MESSAGES, model="stall"):
                if c.choices and c.choices[0].delta.content:
                    seen.append(c.choices[0].delta.content)

    try:
        with pytest.raises(TimeoutError):
            await read_with_deadline()
        assert seen == tokens_for(POEM)[:1]
        (response,) = recorder.stream_responses()
        assert response.is_closed
        assert await stream_slot_frees(sqlite_gateway.url, one_slot_team) < 3
    finally:
        await factory.aclose()


SLOT_HELD_BUG = (
    "SDK/gateway gap: the SDK asks for X-Resume-Grace: 10 on every stream but can cancel the "
    "upstream (DELETE .../streams/{id}) only once it has read an event id, so a stream closed "
    "before its first event (an exception inside `async with client.chat_stream(...)`, or "
    "enter-then-close) keeps the team's stream slot for the whole 10 s grace"
)


async def test_closing_before_the_first_event_releases_the_slot(
    one_slot_client: Client, sqlite_gateway: GatewayProcess, one_slot_team: TeamHandle
) -> None:
    job_id = await resolve(one_slot_client.create_job("stream"))
    stream = one_slot_client.chat_stream(job_id, LONG_MESSAGES, model="slow")
    with pytest.raises(KeyError):
        if isinstance(stream, AsyncChatStream):
            async with stream:
                raise KeyError("the caller's code failed before reading")
        else:
            with stream:
                raise KeyError("the caller's code failed before reading")
    assert stream.response.is_closed
    assert await stream_slot_frees(sqlite_gateway.url, one_slot_team, within=1.0) < 1.0


async def test_close_before_start_sends_nothing(client: Client, recorder: Recorder) -> None:
    job_id = await resolve(client.create_job("stream"))
    recorder.clear()
    stream = client.chat_stream(job_id, MESSAGES)
    await close_stream(stream)
    assert await collect(stream) == []
    assert recorder.requests == []
    with pytest.raises(RuntimeError):
        _ = stream.response


# --- the gateway dies mid-stream ------------------------------------------------------------
# Kept last: it kills the faults gateway (a later user would get a fresh one, slowly).


async def test_gateway_killed_mid_stream_raises_for_both_clients(
    faults: GatewayProcess, faults_team: TeamHandle, recorder: Recorder
) -> None:
    """A truncated body must raise, never end as if the answer were complete.

    One gateway process serves both clients' streams, so one kill covers both.
    The SDK tries once to resume a broken stream (``Last-Event-ID``); with the
    gateway gone that attempt is refused, and the error reaches the caller.
    """
    async_factory = ClientFactory("async", recorder)
    sync_factory = ClientFactory("sync", recorder)
    async_client = async_factory(faults.url, faults_team, max_retries=0)
    sync_client = sync_factory(faults.url, faults_team, max_retries=0)
    try:
        job_id = await resolve(async_client.create_job("killed"))
        async_stream = async_client.chat_stream(job_id, LONG_MESSAGES, model="slow")
        sync_stream = sync_client.chat_stream(job_id, LONG_MESSAGES, model="slow")
        assert isinstance(async_stream, AsyncChatStream)
        assert isinstance(sync_stream, ChatStream)
        async_seen = await collect_first(async_stream, 2)
        sync_seen = await collect_first(sync_stream, 2)
        faults.process.kill()
        faults.process.wait()
        streams: list[tuple[Stream, list[Any]]] = [
            (async_stream, async_seen),
            (sync_stream, sync_seen),
        ]
        for stream, seen in streams:
            with pytest.raises(APIConnectionError) as caught:
                await collect(stream, seen)
            assert isinstance(caught.value.__cause__, httpx.TransportError)
            assert not stream.done
            assert stream.response.is_closed
            text = "".join(contents(seen))
            assert answer_text(LONG).startswith(text)
            assert len(text) < len(answer_text(LONG))
    finally:
        await async_factory.aclose()
        await sync_factory.aclose()
    resumes = [r for r in recorder.requests if "last-event-id" in r.headers]
    assert len(resumes) == 2  # one attempt per stream
