"""Pure: SSE bytes in, chunks or exceptions out. No transport, no server.

The gateway never sends these shapes (pings, unknown event types, an OpenAI-style
error object as data, a body that ends cleanly without ``[DONE]``), but proxies
and other servers do, so the stream code is fed them directly as bytes. What the
gateway really sends is tested over sockets in ``test_streams.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from packages.sdk.tests.sdk_testkit import chunk
from saasllm import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncChatStream,
    ChatCompletionChunk,
    ChatStream,
    StreamError,
    StreamRateLimitError,
    StreamTruncatedError,
    StreamUpstreamTimeoutError,
)
from saasllm._streaming import StreamState

REQUEST = httpx.Request("POST", "http://gateway.invalid/api/jobs/j/llm-call-stream")


def response(body: bytes = b"") -> httpx.Response:
    return httpx.Response(200, content=body, request=REQUEST)


def sse(*events: Any, done: bool = True) -> bytes:
    out = [e if isinstance(e, str) else f"data: {json.dumps(e)}\n\n" for e in events]
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def feed(wire: bytes, pieces: int | None = None) -> tuple[list[ChatCompletionChunk], StreamState]:
    state = StreamState()
    resp = response()
    size = pieces or len(wire) or 1
    out: list[ChatCompletionChunk] = []
    for i in range(0, len(wire), size):
        out.extend(state.chunks(state.decoder.feed(wire[i : i + size]), resp))
        if state.done:
            return out, state
    out.extend(state.chunks(state.decoder.end(), resp))
    return out, state


def test_ids_pings_empty_data_and_unknown_events_are_not_chunks() -> None:
    wire = (
        f"id: 1\ndata: {json.dumps(chunk('a'))}\n\n"
        ": ping\n\n"
        "data:\n\n"
        'event: metadata\ndata: {"x": 1}\n\n'
        f"id: 2\r\ndata: {json.dumps(chunk('b'))}\r\n\r\n"
        "id: 3\ndata: [DONE]\n\n"
    )
    chunks, state = feed(wire.encode())
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]
    assert state.done


def test_bytes_split_anywhere() -> None:
    wire = sse(chunk("héllo 🎉"), chunk(" wörld"))
    chunks, state = feed(wire, pieces=3)
    assert state.accumulator.text == "héllo 🎉 wörld"
    assert len(chunks) == 2


def test_nothing_after_done_is_read() -> None:
    chunks, _ = feed(sse(chunk("a")) + sse(chunk("late")))
    assert [c.choices[0].delta.content for c in chunks] == ["a"]


@pytest.mark.parametrize(
    ("error_type", "cls", "status"),
    [
        ("upstream_timeout", StreamUpstreamTimeoutError, 504),
        ("rate_limit_error", StreamRateLimitError, 429),
    ],
)
def test_openai_style_error_object_in_data(error_type: str, cls: type, status: int) -> None:
    error = {"error": {"type": error_type, "code": error_type, "message": "slow"}}
    with pytest.raises(StreamError) as caught:
        feed(sse(chunk("a"), error, done=False))
    assert isinstance(caught.value, cls)
    assert caught.value.status_code == status


def test_chunk_mentioning_error_is_still_a_chunk() -> None:
    chunks, _ = feed(sse(chunk("error"), chunk('say "error"'), chunk(finish="error")))
    assert chunks[0].choices[0].delta.content == "error"
    assert chunks[1].choices[0].delta.content == 'say "error"'


def test_invalid_chunk_json() -> None:
    with pytest.raises(APIResponseValidationError):
        feed(b"data: {not json\n\n")


WITHOUT_DONE = sse(chunk("partial"), done=False)


def test_clean_end_without_done_is_truncated_sync() -> None:
    stream = ChatStream(lambda last_event_id: response(WITHOUT_DONE))
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(StreamTruncatedError) as caught:
        for c in stream:
            seen.append(c)
    assert isinstance(caught.value, APIConnectionError)
    assert [c.choices[0].delta.content for c in seen] == ["partial"]
    assert stream.response.is_closed


async def test_clean_end_without_done_is_truncated_async() -> None:
    async def open_response(last_event_id: str | None) -> httpx.Response:
        return response(WITHOUT_DONE)

    stream = AsyncChatStream(open_response)
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(StreamTruncatedError):
        async for c in stream:
            seen.append(c)
    assert [c.choices[0].delta.content for c in seen] == ["partial"]
    assert stream.response.is_closed
