"""The OpenAI wire format as the fake writes it: JSON bodies and SSE frames.

Stream frames are concatenated from pre-encoded bytes around each delta, never
built as objects: a benchmark stream of thousands of chunks must cost the fake
almost nothing. The frames match what OpenAI sends, ``"usage":null`` on every
chunk included when the client asked for usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from aiohttp import web

from saasllm_testing.fake.replies import Reply

DONE: Final = b"data: [DONE]\n\n"
_ROLE_DELTA: Final = b'{"role":"assistant","content":""}'
_ERROR_BODIES: Final[dict[int, tuple[str, str, str]]] = {
    429: (
        "Rate limit reached (simulated by the fake upstream).",
        "rate_limit_error",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error processing your request (simulated).",
        "server_error",
        "internal_error",
    ),
    503: ("The engine is currently overloaded (simulated).", "server_error", "service_unavailable"),
}


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def bad_request(message: str) -> web.Response:
    return json_response({"error": {"message": message, "type": "invalid_request_error"}}, 400)


def error_response(status: int, retry_after: int | None = None) -> web.Response:
    """The body OpenAI sends for ``status`` (429, 500 or 503), with ``Retry-After`` if given."""
    message, kind, code = _ERROR_BODIES[status]
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return json_response(body, status, headers)


@dataclass(frozen=True, slots=True)
class Completion:
    """One call's answer with everything that identifies it on the wire."""

    id: str
    created: int
    model: str
    reply: Reply
    usage: dict[str, int]


def completion_body(completion: Completion) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object."""
    reply = completion.reply
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_call is not None:
        message["tool_calls"] = [reply.tool_call]
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": completion.usage,
    }


class ChunkFrames:
    """The ``data:`` frames of one stream, sharing one encoded head."""

    def __init__(self, completion: Completion, *, include_usage: bool) -> None:
        self._head = (
            b'data: {"id":"'
            + completion.id.encode()
            + b'","object":"chat.completion.chunk","created":'
            + str(completion.created).encode()
            + b',"model":'
            + orjson.dumps(completion.model)
        )
        self._prefix = self._head + b',"choices":[{"index":0,"delta":'
        self._tail = b',"logprobs":null,"finish_reason":null}]' + (
            b',"usage":null}\n\n' if include_usage else b"}\n\n"
        )
        self.finish = (
            self._prefix
            + b'{},"logprobs":null,"finish_reason":"'
            + completion.reply.finish_reason.encode()
            + (b'"}],"usage":null}\n\n' if include_usage else b'"}]}\n\n')
        )
        """The chunk carrying ``finish_reason``, with an empty delta."""
        self.role = self.delta(_ROLE_DELTA)
        """The first chunk: the assistant role and empty content."""

    def delta(self, encoded_delta: bytes) -> bytes:
        return self._prefix + encoded_delta + self._tail

    def usage(self, usage: Mapping[str, int]) -> bytes:
        """The chunk after the finish chunk: no choices, only ``usage``."""
        return self._head + b',"choices":[],"usage":' + orjson.dumps(usage) + b"}\n\n"
