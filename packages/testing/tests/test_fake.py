"""The fake upstream over real HTTP: exact text, OpenAI wire format, timing knobs and faults."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from enum import StrEnum
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel, Field

from saasllm_testing.fake import (
    ANSWERS,
    BAD_JSON,
    FakeUpstreamProcess,
    ModelSpec,
    count_prompt_tokens,
    example_from_schema,
    parse_model_name,
    start_fake_upstream,
    tokens_for,
)
from saasllm_testing.supervisor import ChildExitedEarly

POEM = "Write a short poem about Python"
BLOG = "Write a technical blog post about microservices (500 words)"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstreamProcess]:
    process = FakeUpstreamProcess.start_sync()
    yield process
    assert process.stop_sync() == 0


@pytest.fixture
async def client(fake: FakeUpstreamProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=10) as http:
        yield http


def chat(prompt: str, model: str = "fake", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


async def next_data(lines: AsyncIterator[str]) -> str:
    """The next ``data:`` payload, skipping the blank lines between events."""
    async for line in lines:
        if line.startswith("data: "):
            return line[len("data: ") :]
    raise EOFError


async def stream_events(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    async with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return [line[6:] async for line in r.aiter_lines() if line.startswith("data: ")]


def chunks(events: list[str]) -> list[dict[str, Any]]:
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def contents(parsed: list[dict[str, Any]]) -> list[str]:
    return [
        c["choices"][0]["delta"]["content"]
        for c in parsed[1:]
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]


async def test_stream_of_a_table_prompt_is_the_table_answer_token_by_token(
    client: httpx.AsyncClient,
) -> None:
    parsed = chunks(await stream_events(client, chat(POEM, model="fake-x")))
    role, *body, finish = parsed
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"]["content"] for c in body] == tokens_for(POEM)
    assert "".join(tokens_for(POEM)) == ANSWERS[POEM]
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    for chunk in parsed:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "fake-x"
        assert chunk["id"] == role["id"]
        assert chunk["created"] == role["created"]
        assert "usage" not in chunk


async def test_usage_chunk_only_with_include_usage(client: httpx.AsyncClient) -> None:
    body = chat(BLOG, stream_options={"include_usage": True})
    parsed = chunks(await stream_events(client, body))
    *rest, usage_chunk = parsed
    assert usage_chunk["choices"] == []
    expected_prompt = len(BLOG.split()) + 3
    completion = len(tokens_for(BLOG))
    assert usage_chunk["usage"] == {
        "prompt_tokens": expected_prompt,
        "completion_tokens": completion,
        "total_tokens": expected_prompt + completion,
    }
    assert all(c["usage"] is None for c in rest)
    assert "".join(contents(rest)) == ANSWERS[BLOG]

    without = chunks(await stream_events(client, chat(BLOG)))
    assert all(c["choices"] for c in without)


async def test_max_tokens_truncates_with_finish_reason_length(client: httpx.AsyncClient) -> None:
    parsed = chunks(await stream_events(client, chat(BLOG, max_tokens=7)))
    assert contents(parsed) == tokens_for(BLOG, 7)
    assert len(tokens_for(BLOG, 7)) == 7
    assert parsed[-1]["choices"][0]["finish_reason"] == "length"

    r = await client.post("/chat/completions", json=chat(BLOG, max_completion_tokens=3))
    data = r.json()
    assert data["choices"][0]["message"]["content"] == "".join(tokens_for(BLOG, 3))
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 3


async def test_non_stream_completion(client: httpx.AsyncClient) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is FastAPI?"},
    ]
    r = await client.post(
        "/chat/completions",
        json={"model": "fake", "messages": messages},
        headers={"Authorization": "Bearer anything"},
    )
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "fake"
    assert data["choices"][0]["message"] == {
        "role": "assistant",
        "content": ANSWERS["What is FastAPI?"],
    }
    assert data["choices"][0]["finish_reason"] == "stop"
    prompt_tokens = (3 + 3) + (3 + 3)
    assert count_prompt_tokens(messages) == prompt_tokens
    assert data["usage"]["prompt_tokens"] == prompt_tokens
    assert data["usage"]["completion_tokens"] == len(tokens_for("What is FastAPI?"))


async def test_unknown_prompts_are_echoed_and_t_cycles_the_answer(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/chat/completions", json=chat("  hello   there world "))
    assert r.json()["choices"][0]["message"]["content"] == "Echo: hello there world"

    parsed = chunks(await stream_events(client, chat("hi", model="fake-d0-t50")))
    assert contents(parsed) == tokens_for("hi", n_tokens=50)
    assert len(contents(parsed)) == 50
    assert "".join(contents(parsed)).startswith("Echo: hi Echo: hi")


async def test_rate_limit_fault_has_retry_after(client: httpx.AsyncClient) -> None:
    r = await client.post("/chat/completions", json=chat(POEM, model="fake-429", stream=True))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    error = r.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "rate_limit_exceeded"
    assert error["message"]

    r = await client.post("/chat/completions", json=chat(POEM, model="gpt-x-429-r7"))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"


async def test_server_error_faults(client: httpx.AsyncClient) -> None:
    r = await client.post("/chat/completions", json=chat(POEM, model="fake-500"))
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert "retry-after" not in r.headers

    r = await client.post("/chat/completions", json=chat(POEM, model="fake-503"))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "service_unavailable"


async def test_cut_aborts_after_n_content_chunks(client: httpx.AsyncClient) -> None:
    received: list[str] = []

    async def read_all() -> None:
        body = chat(BLOG, "fake-cut5", stream=True)
        async with client.stream("POST", "/chat/completions", json=body) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    received.append(line[6:])

    with pytest.raises(httpx.RemoteProtocolError):
        await read_all()
    assert "[DONE]" not in received
    parsed = [json.loads(e) for e in received]
    assert len(parsed) == 1 + 5
    assert contents(parsed) == tokens_for(BLOG, 5)
    assert all(c["choices"][0]["finish_reason"] is None for c in parsed)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/chat/completions", json=chat(BLOG, "fake-cut5"))


async def test_stall_sends_the_first_chunk_then_nothing(client: httpx.AsyncClient) -> None:
    async with client.stream(
        "POST", "/chat/completions", json=chat(POEM, "fake-stall", stream=True)
    ) as r:
        lines = r.aiter_lines()
        async with asyncio.timeout(2):
            role = json.loads(await next_data(lines))
            first = json.loads(await next_data(lines))
        assert role["choices"][0]["delta"]["role"] == "assistant"
        assert first["choices"][0]["delta"]["content"] == tokens_for(POEM)[0]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await next_data(lines)


async def test_slowfirst_delays_the_headers(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    async with client.stream(
        "POST", "/chat/completions", json=chat(POEM, "fake-slowfirst400", stream=True)
    ) as r:
        headers_after = time.monotonic() - started
        events = [line async for line in r.aiter_lines() if line.startswith("data: ")]
    assert headers_after >= 0.38
    assert events[-1] == "data: [DONE]"


async def test_hang_never_answers(client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/chat/completions", json=chat(POEM, "fake-hang"), timeout=0.3)


async def test_per_token_delay_and_ttft(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    parsed = chunks(await stream_events(client, chat(BLOG, "fake-d50-t20")))
    assert len(contents(parsed)) == 20
    assert time.monotonic() - started >= 0.9

    started = time.monotonic()
    await stream_events(client, chat("hi", "fake-f300"))
    assert time.monotonic() - started >= 0.28

    started = time.monotonic()
    async with client.stream(
        "POST",
        "/chat/completions",
        json=chat(BLOG, "fake-t6", stream=True),
        headers={"x-fake-delay-ms": "60"},
    ) as r:
        _ = [line async for line in r.aiter_lines()]
    assert time.monotonic() - started >= 0.28


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str


class Item(BaseModel):
    name: str
    quantity: int = Field(ge=1, le=10)
    price: float = Field(gt=0, lt=1000)


class Order(BaseModel):
    customer_email: str = Field(pattern=EMAIL_PATTERN)
    color: Color
    shipping: Address
    items: list[Item] = Field(min_length=1)
    priority: int = Field(ge=3, le=5)
    discount: float = Field(ge=0.1, le=0.5)
    note: str | None = None
    gift: bool


def json_schema_format(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
    }


async def test_json_schema_answer_validates(client: httpx.AsyncClient) -> None:
    body = chat("Make an order", response_format=json_schema_format(Order))
    parsed = chunks(await stream_events(client, body))
    pieces = contents(parsed)
    assert len(pieces) > 5
    assert all(len(p) <= 8 for p in pieces)
    order = Order.model_validate_json("".join(pieces))
    assert order.customer_email == "user@example.com"
    assert order.color is Color.RED
    assert len(order.items) == 1
    assert order.items[0].quantity == 1
    assert 0 < order.items[0].price < 1000
    assert order.priority == 3
    assert order.note == "example"

    r = await client.post("/chat/completions", json=body)
    assert Order.model_validate_json(r.json()["choices"][0]["message"]["content"]) == order


async def test_json_object_and_badjson(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/chat/completions", json=chat(POEM, response_format={"type": "json_object"})
    )
    assert json.loads(r.json()["choices"][0]["message"]["content"]) == {"answer": ANSWERS[POEM]}

    body = chat(POEM, "fake-badjson", response_format=json_schema_format(Order))
    r = await client.post("/chat/completions", json=body)
    assert r.json()["choices"][0]["message"]["content"] == BAD_JSON
    parsed = chunks(await stream_events(client, body))
    assert "".join(contents(parsed)) == BAD_JSON


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city", "unit", "days"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


async def test_tool_call_is_streamed_like_openai(client: httpx.AsyncClient) -> None:
    body = chat("Weather in Paris?", tools=[WEATHER_TOOL, TIME_TOOL])
    parsed = chunks(await stream_events(client, body))
    calls = [c["choices"][0]["delta"]["tool_calls"] for c in parsed[1:-1]]
    header = calls[0][0]
    assert header["index"] == 0
    assert header["id"].startswith("call_")
    assert header["type"] == "function"
    assert header["function"] == {"name": "get_weather", "arguments": ""}
    fragments = [call[0]["function"]["arguments"] for call in calls[1:]]
    assert len(fragments) > 1
    assert all("id" not in call[0] for call in calls[1:])
    assert json.loads("".join(fragments)) == {"city": "example", "unit": "celsius", "days": 1}
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"

    r = await client.post(
        "/chat/completions",
        json={
            **body,
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        },
    )
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "get_time", "arguments": "{}"}

    r = await client.post("/chat/completions", json={**body, "tool_choice": "none"})
    assert r.json()["choices"][0]["message"]["content"] == "Echo: Weather in Paris?"


async def test_the_official_openai_client_accepts_the_wire_format(
    fake: FakeUpstreamProcess,
) -> None:
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-fake") as oai:
        stream = await oai.chat.completions.create(
            model="fake",
            messages=[{"role": "user", "content": POEM}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text = ""
        usage = None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            usage = chunk.usage or usage
        assert text == ANSWERS[POEM]
        assert usage is not None
        assert usage.completion_tokens == len(tokens_for(POEM))

        parsed = await oai.chat.completions.parse(
            model="fake",
            messages=[{"role": "user", "content": "an order"}],
            response_format=Order,
        )
        order = parsed.choices[0].message.parsed
        assert isinstance(order, Order)
        assert order.shipping.city == "example"


async def test_models_health_and_bad_body(
    client: httpx.AsyncClient, fake: FakeUpstreamProcess
) -> None:
    models = (await client.get("/models")).json()
    assert models["object"] == "list"
    assert models["data"][0]["id"] == "fake"
    async with httpx.AsyncClient(base_url=fake.url) as root:
        assert (await root.get("/health")).json() == {"status": "ok"}
    r = await client.post("/chat/completions", content=b"{not json")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


async def test_in_process_stats_count_a_client_disconnect() -> None:
    upstream = await start_fake_upstream(delay_ms=100)
    try:
        async with httpx.AsyncClient(base_url=upstream.url, timeout=5) as http:
            body = chat(BLOG, "fake-slow", stream=True)
            async with http.stream("POST", "/v1/chat/completions", json=body) as r:
                lines = r.aiter_lines()
                await next_data(lines)
                await next_data(lines)
                assert (await http.get("/stats")).json()["open_streams"] == 1
            deadline = time.monotonic() + 1.0
            stats = (await http.get("/stats")).json()
            while stats["streams_disconnected"] < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                stats = (await http.get("/stats")).json()
            assert stats["streams_disconnected"] == 1
            assert stats["streams_started"] == 1
            assert stats["streams_completed"] == 0
            assert stats["open_streams"] == 0
            assert stats["requests"] == 1
            assert stats["requests_by_model"] == {"fake-slow": 1}
            assert stats["last_request"]["messages"][0]["content"] == BLOG
            assert upstream.stats.streams_disconnected == 1

            await stream_events_at(http, "/v1/chat/completions", chat("hi", "fake-d0"))
            assert (await http.get("/stats")).json()["streams_completed"] == 1
            reset = (await http.post("/stats/reset")).json()
            assert reset["requests"] == 0
            assert reset["streams_disconnected"] == 0
            assert reset["requests_by_model"] == {}
            assert reset["last_request"] is None
    finally:
        await upstream.close()


async def stream_events_at(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    async with http.stream("POST", path, json={**body, "stream": True}) as r:
        assert [line async for line in r.aiter_lines() if line][-1] == "data: [DONE]"


async def test_async_process_start_and_start_failure() -> None:
    process = await FakeUpstreamProcess.start()
    try:
        async with httpx.AsyncClient(base_url=process.url) as http:
            assert (await http.get("/health")).status_code == 200
        assert process.alias == "fake"
        assert process.base_url == process.url + "/v1"
    finally:
        assert await process.stop() == 0

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ChildExitedEarly, match="exited with rc"):
            await FakeUpstreamProcess.start(port=port, ready_timeout=15)


def test_sync_start_failure_is_typed_and_quotes_stderr() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ChildExitedEarly, match=r"(?s)exited with rc 1.*log tail"):
            FakeUpstreamProcess.start_sync(port=port, ready_timeout=15)


def test_model_name_parsing() -> None:
    assert parse_model_name("fake") == ModelSpec()
    assert parse_model_name("openai/fake-d20-t100-f5") == ModelSpec(
        delay_ms=20, ttft_ms=5, n_tokens=100
    )
    assert parse_model_name("fake-429-r3") == ModelSpec(status=429, retry_after=3)
    assert parse_model_name("fake-cut5-d10") == ModelSpec(cut_after=5, delay_ms=10)
    assert parse_model_name("fake-slowfirst3000") == ModelSpec(slowfirst_ms=3000)
    assert parse_model_name("fake-stall-hang-badjson") == ModelSpec(
        stall=True, hang=True, badjson=True
    )
    assert parse_model_name("gpt-4o-mini") == ModelSpec()
    assert parse_model_name("d20") == ModelSpec()


def test_schema_examples_respect_bounds_refs_and_nullability() -> None:
    assert example_from_schema({"type": "integer", "exclusiveMinimum": 5}) == 6
    assert example_from_schema({"type": "integer", "maximum": -2}) == -2
    assert (
        example_from_schema({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}) == 0.5
    )
    assert example_from_schema({"type": ["null", "string"], "minLength": 10}) == "examplexxx"
    assert example_from_schema({"type": "string", "maxLength": 3}) == "exa"
    assert example_from_schema({"type": "array", "items": {"type": "boolean"}, "minItems": 2}) == [
        False,
        False,
    ]
    node = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "string", "format": "date"},
                    "child": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Node"}]},
                },
                "required": ["value"],
            }
        },
        "$ref": "#/$defs/Node",
    }
    example = example_from_schema(node)
    assert example["value"] == "2024-01-01"
    assert example["child"]["value"] == "2024-01-01"
