"""Chat streams: end markers, in-stream errors, wrapping, and always closing the response."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import httpx
import pytest
from sdk_testkit import (
    Body,
    Gateway,
    async_client,
    chunk,
    collect,
    error_response,
    resolve,
    sse,
    stream_response,
    sync_client,
    usage_chunk,
)

from saasllm import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncChatStream,
    ChatStream,
    InsufficientCreditsError,
    RateLimitError,
    SaaSLLMClient,
    StreamError,
    StreamRateLimitError,
    StreamTruncatedError,
    StreamUpstreamError,
    SyncSaaSLLMClient,
    UpstreamError,
)

MESSAGES = [{"role": "user", "content": "hi"}]
Client = SaaSLLMClient | SyncSaaSLLMClient


def open_stream(client: Client) -> AsyncChatStream | ChatStream:
    return client.chat_stream("job-1", MESSAGES, temperature=0.7)


async def test_full_stream(client: Client, gateway: Gateway) -> None:
    body = Body(
        [
            sse(
                chunk("", role="assistant"),
                chunk("Hel"),
                chunk("lo"),
                chunk(finish="stop"),
                usage_chunk(),
            )
        ]
    )
    gateway.add(stream_response(body))
    stream = open_stream(client)
    chunks = await collect(stream)
    assert [c.choices[0].delta.get("content", "") for c in chunks if c.choices] == [
        "",
        "Hel",
        "lo",
        "",
    ]
    assert chunks[-1].usage is not None
    assert stream.usage is not None
    assert stream.usage.total_tokens == 8
    assert stream.done
    assert stream.response.status_code == 200
    assert body.closed
    message = await resolve(stream.get_final_message())
    assert message.content == "Hello"
    completion = await resolve(stream.get_final_completion())
    assert completion.choices[0].finish_reason == "stop"


async def test_request_is_lazy_and_carries_stream_headers(client: Client, gateway: Gateway) -> None:
    stream = open_stream(client)
    assert gateway.requests == []
    gateway.add(stream_response(Body([sse(chunk("x"))])))
    await collect(stream)
    (request,) = gateway.requests
    assert request.url.path == "/api/jobs/job-1/llm-call-stream"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.7
    assert body["messages"] == MESSAGES


async def test_ids_pings_empty_data_and_unknown_events_are_not_chunks(
    client: Client, gateway: Gateway
) -> None:
    wire = (
        f"id: 1\ndata: {json.dumps(chunk('a'))}\n\n"
        ": ping\n\n"
        "data:\n\n"
        'event: metadata\ndata: {"x": 1}\n\n'
        f"id: 2\r\ndata: {json.dumps(chunk('b'))}\r\n\r\n"
        "id: 3\ndata: [DONE]\n\n"
    )
    gateway.add(stream_response(Body([wire.encode()])))
    chunks = await collect(open_stream(client))
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]


async def test_bytes_split_anywhere(client: Client, gateway: Gateway) -> None:
    wire = sse(chunk("héllo 🎉"), chunk(" wörld"))
    gateway.add(stream_response(Body([wire[i : i + 3] for i in range(0, len(wire), 3)])))
    stream = open_stream(client)
    await collect(stream)
    assert await resolve(stream.final_text()) == "héllo 🎉 wörld"


async def test_missing_done_raises_truncated(client: Client, gateway: Gateway) -> None:
    body = Body([sse(chunk("partial"), done=False)])
    gateway.add(stream_response(body))
    seen: list[Any] = []
    with pytest.raises(StreamTruncatedError):
        await collect(open_stream(client), seen)
    assert [c.choices[0].delta.content for c in seen] == ["partial"]
    assert isinstance(StreamTruncatedError(), APIConnectionError)
    assert body.closed


@pytest.mark.parametrize(
    ("error_type", "classes", "status"),
    [
        ("upstream_error", (StreamError, StreamUpstreamError, UpstreamError), 502),
        ("rate_limit_error", (StreamError, StreamRateLimitError, RateLimitError), 429),
    ],
)
async def test_error_event_after_chunks(
    client: Client, gateway: Gateway, error_type: str, classes: tuple[type, ...], status: int
) -> None:
    error = {"error": {"type": error_type, "code": "x", "message": "provider fell over"}}
    body = Body([sse(chunk("a"), f"event: error\ndata: {json.dumps(error)}\n\n", done=False)])
    gateway.add(stream_response(body))
    seen: list[Any] = []
    with pytest.raises(StreamError) as caught:
        await collect(open_stream(client), seen)
    assert [c.choices[0].delta.content for c in seen] == ["a"]
    for cls in classes:
        assert isinstance(caught.value, cls)
    assert isinstance(caught.value, httpx.HTTPStatusError)
    assert caught.value.status_code == status
    assert caught.value.response.status_code == 200
    assert "provider fell over" in str(caught.value)
    assert body.closed


async def test_openai_style_error_object_in_data(client: Client, gateway: Gateway) -> None:
    error = {"error": {"type": "upstream_timeout", "code": "upstream_timeout", "message": "slow"}}
    gateway.add(stream_response(Body([sse(error, done=False)])))
    with pytest.raises(StreamError) as caught:
        await collect(open_stream(client))
    assert caught.value.status_code == 504


async def test_chunk_mentioning_error_is_still_a_chunk(client: Client, gateway: Gateway) -> None:
    gateway.add(stream_response(Body([sse(chunk('say "error"'), chunk(finish="error"))])))
    chunks = await collect(open_stream(client))
    assert chunks[0].choices[0].delta.content == 'say "error"'


async def test_invalid_chunk_json(client: Client, gateway: Gateway) -> None:
    gateway.add(stream_response(Body([b"data: {not json\n\n"])))
    with pytest.raises(APIResponseValidationError):
        await collect(open_stream(client))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ReadError("connection reset"), APIConnectionError),
        (httpx.RemoteProtocolError("incomplete chunked read"), APIConnectionError),
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
    ],
)
async def test_transport_errors_during_iteration_are_wrapped(
    client: Client, gateway: Gateway, exc: Exception, expected: type[Exception]
) -> None:
    body = Body([sse(chunk("a"), done=False)], fail=exc)
    gateway.add(stream_response(body))
    with pytest.raises(expected) as caught:
        await collect(open_stream(client))
    assert caught.value.__cause__ is exc
    assert not isinstance(caught.value, httpx.HTTPError)
    assert body.closed


async def test_timeout_during_iteration_is_an_asyncio_timeout(gateway: Gateway) -> None:
    client = async_client(gateway)
    gateway.add(stream_response(Body([], fail=httpx.ReadTimeout("slow"))))
    with pytest.raises(asyncio.TimeoutError):
        await collect(open_stream(client))


async def test_error_status_before_first_byte(client: Client, gateway: Gateway) -> None:
    gateway.add(error_response(403, "insufficient_credits", "insufficient_credits", "no credits"))
    stream = open_stream(client)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await collect(stream)
    assert isinstance(caught.value, InsufficientCreditsError)
    assert caught.value.response.status_code == 403
    assert caught.value.response.json()["error"]["code"] == "insufficient_credits"
    assert len(gateway.requests) == 1


async def test_rate_limit_before_first_byte_is_retried(client: Client, gateway: Gateway) -> None:
    gateway.add(
        error_response(429, "rate_limit_error", "rate_limited", headers={"retry-after-ms": "0"}),
        stream_response(Body([sse(chunk("ok"))])),
    )
    chunks = await collect(open_stream(client))
    assert chunks[0].choices[0].delta.content == "ok"
    assert [r.headers["x-saasllm-retry-count"] for r in gateway.requests] == ["0", "1"]


async def test_rate_limit_surfaces_as_http_status_error_when_retries_run_out(
    client: Client, gateway: Gateway
) -> None:
    limited = {"retry-after-ms": "0"}
    gateway.add(
        *(
            error_response(429, "rate_limit_error", "rate_limited", headers=limited)
            for _ in range(3)
        )
    )
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await collect(open_stream(client))
    assert isinstance(caught.value, RateLimitError)
    assert caught.value.response.status_code == 429
    assert caught.value.retry_after == 0.0
    assert len(gateway.requests) == 3


async def test_context_manager_closes_on_early_exit(client: Client, gateway: Gateway) -> None:
    body = Body([sse(chunk("a"), chunk("b"), chunk("c"))])
    gateway.add(stream_response(body))
    stream = open_stream(client)
    if isinstance(stream, AsyncChatStream):
        async with stream:
            async for _ in stream:
                break
    else:
        with stream:
            for _ in stream:
                break
    assert body.closed
    # Closing again is harmless, and a closed stream yields nothing more.
    if isinstance(stream, AsyncChatStream):
        await stream.aclose()
    else:
        stream.close()
    assert await collect(stream) == []


async def test_bare_break_closes_the_response(gateway: Gateway) -> None:
    client = async_client(gateway)
    body = Body([sse(chunk("a"), chunk("b"))], hang=True)
    gateway.add(stream_response(body))
    async for _ in client.chat_stream("job-1", MESSAGES):
        break
    # The dropped stream's generator is finalized by the event loop's asyncgen hook.
    for _ in range(5):
        gc.collect()
        await asyncio.sleep(0)
    assert body.closed


def test_bare_break_closes_the_response_sync(gateway: Gateway) -> None:
    client = sync_client(gateway)
    body = Body([sse(chunk("a"), chunk("b"))])
    gateway.add(stream_response(body))
    assert isinstance(client, SyncSaaSLLMClient)
    for _ in client.chat_stream("job-1", MESSAGES):
        break
    gc.collect()
    assert body.closed


async def test_cancellation_by_asyncio_timeout_closes_the_response(gateway: Gateway) -> None:
    client = async_client(gateway)
    body = Body([sse(chunk("a"), done=False)], hang=True)
    gateway.add(stream_response(body))
    seen: list[str] = []

    async def read_with_deadline() -> None:
        async with asyncio.timeout(0.2):
            async for c in client.chat_stream("job-1", MESSAGES):
                seen.append(c.choices[0].delta.content)

    with pytest.raises(TimeoutError):
        await read_with_deadline()
    assert seen == ["a"]
    assert body.closed


async def test_aclose_before_start_sends_nothing(gateway: Gateway) -> None:
    client = async_client(gateway)
    stream = client.chat_stream("job-1", MESSAGES)
    await stream.aclose()
    assert [c async for c in stream] == []
    assert gateway.requests == []
    with pytest.raises(RuntimeError):
        _ = stream.response


async def test_text_stream_and_helpers(client: Client, gateway: Gateway) -> None:
    gateway.add(
        stream_response(Body([sse(chunk("a"), chunk(""), chunk("b"), chunk(finish="stop"))]))
    )
    stream = open_stream(client)
    if isinstance(stream, AsyncChatStream):
        async with stream:
            texts = [t async for t in stream.text_stream]
    else:
        with stream:
            texts = list(stream.text_stream)
    assert texts == ["a", "b"]
    assert stream.accumulator.text == "ab"


async def test_concurrent_streams_on_one_client(gateway: Gateway) -> None:
    """Seed example 8: three streams at once on one client keep their own state."""
    client = async_client(gateway)

    def answer(request: httpx.Request) -> httpx.Response:
        question = json.loads(request.content)["messages"][0]["content"]
        words = [f"{question}-{i} " for i in range(5)]
        return stream_response(Body([sse(*(chunk(w) for w in words))]))

    gateway.add(answer, answer, answer)

    async def ask(question: str) -> str:
        text = ""
        async for c in client.chat_stream("job-1", [{"role": "user", "content": question}]):
            if c.choices:
                content = c.choices[0].delta.get("content", "")
                if content:
                    text += content
        return text

    results = await asyncio.gather(ask("q1"), ask("q2"), ask("q3"))
    for question, text in zip(["q1", "q2", "q3"], results, strict=True):
        assert text == "".join(f"{question}-{i} " for i in range(5))


async def test_structured_output_stream(client: Client, gateway: Gateway) -> None:
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int

    gateway.add(stream_response(Body([sse(chunk('{"x"'), chunk(": 1}"))])))
    pieces: list[str] = []
    if isinstance(client, SaaSLLMClient):
        async for piece in client.structured_output_stream("job-1", MESSAGES, response_model=Point):
            pieces.append(piece)
    else:
        pieces.extend(client.structured_output_stream("job-1", MESSAGES, response_model=Point))
    assert "".join(pieces) == '{"x": 1}'
    assert gateway.body()["response_format"]["json_schema"]["name"] == "Point"
