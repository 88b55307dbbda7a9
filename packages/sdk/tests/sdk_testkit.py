"""In-memory fakes for SDK tests: no server, no sockets.

The gateway is an ``httpx.MockTransport`` handler that replays a script of
responses and records the requests; bodies are byte streams that remember
whether the SDK closed them, so tests can prove a stream never leaks.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from saasllm import AsyncChatStream, ChatStream, SaaSLLMClient, SyncSaaSLLMClient

BASE = "http://gateway.test"

Handler = Callable[[httpx.Request], httpx.Response]


class Body(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A response body for either client that records whether it was closed."""

    def __init__(
        self,
        parts: list[bytes],
        *,
        hang: bool = False,
        fail: Exception | None = None,
    ) -> None:
        self.parts = parts
        self.hang = hang
        self.fail = fail
        self.closed = False
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part
            await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        if self.hang:
            await asyncio.Event().wait()

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part
        if self.fail is not None:
            raise self.fail
        if self.hang:  # pragma: no cover - sync streams are not hung in tests
            raise AssertionError("a sync body cannot hang in tests")

    async def aclose(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def sse(*events: Any, done: bool = True) -> bytes:
    """Encode chunks (dicts) or raw event strings as an SSE body."""
    out: list[str] = []
    for event in events:
        out.append(event if isinstance(event, str) else f"data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def chunk(
    content: str = "", *, finish: str | None = None, index: int = 0, **delta: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [
            {"index": index, "delta": {"content": content, **delta}, "finish_reason": finish}
        ],
    }


def usage_chunk(prompt: int = 3, completion: int = 5) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def stream_response(body: Body, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, stream=body)


def error_response(
    status: int, type_: str, code: str, message: str = "nope", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"type": type_, "code": code, "message": message}},
        headers=headers,
    )


JOB_CREATED = {
    "job_id": "job-1",
    "team_id": "acme-corp",
    "job_type": "demo",
    "status": "pending",
    "created_at": "2026-01-01T00:00:00Z",
}

JOB_RESULT = {
    "job_id": "job-1",
    "team_id": "acme-corp",
    "status": "completed",
    "completed_at": "2026-01-01T00:01:00Z",
    "credit_applied": True,
    "credits_charged": 1,
    "credits_remaining": 999,
    "total_calls": 2,
    "costs": {
        "total_calls": 2,
        "successful_calls": 2,
        "total_cost_usd": 0.0012,
        "credit_applied": True,
        "credits_charged": 1,
        "credits_remaining": 999,
    },
}

COMPLETION = {
    "id": "chatcmpl-9",
    "object": "chat.completion",
    "created": 1,
    "model": "fake-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    "call_id": "call-1",
    "response": {"content": "Hello there", "finish_reason": "stop"},
    "metadata": {"tokens_used": 6, "latency_ms": 12.5, "model": "fake-model"},
}


class Gateway:
    """Replays scripted responses in order and records every request."""

    def __init__(self) -> None:
        self.script: list[httpx.Response | Handler] = []
        self.requests: list[httpx.Request] = []

    def add(self, *responses: httpx.Response | Handler) -> None:
        self.script.extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.script.pop(0)
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    def body(self, n: int = -1) -> Any:
        return json.loads(self.requests[n].content)


def async_client(gateway: Gateway, **kwargs: Any) -> SaaSLLMClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    return SaaSLLMClient(BASE, "acme-corp", "sk-test", http_client=http, **kwargs)


def sync_client(gateway: Gateway, **kwargs: Any) -> SyncSaaSLLMClient:
    http = httpx.Client(transport=httpx.MockTransport(gateway))
    return SyncSaaSLLMClient(BASE, "acme-corp", "sk-test", http_client=http, **kwargs)


def make_client(kind: str, gateway: Gateway, **kwargs: Any) -> SaaSLLMClient | SyncSaaSLLMClient:
    return async_client(gateway, **kwargs) if kind == "async" else sync_client(gateway, **kwargs)


async def resolve(value: Any) -> Any:
    """Await what the async client returns; pass the sync client's results through."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: AsyncChatStream | ChatStream, into: list[Any] | None = None) -> list[Any]:
    """Iterate either kind of stream; ``into`` keeps what arrived even if iteration raises."""
    seen: list[Any] = [] if into is None else into
    if isinstance(stream, AsyncChatStream):
        async for item in stream:
            seen.append(item)
    else:
        for item in stream:
            seen.append(item)
    return seen
