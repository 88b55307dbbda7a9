"""What a chat stream is apart from its I/O: decoding, chunks, resuming, the answer so far.

The stream classes (:class:`~saasllm.AsyncChatStream` and its generated blocking
twin :class:`~saasllm.ChatStream`) are thin shells over this.

The request is sent lazily, on the first iteration or on entering the context
manager, so ``async for chunk in client.chat_stream(...)`` works as written and
every stream owns its own state (several can run at once on one client).

Cleanup: the HTTP response is closed in ``finally`` when the stream ends, fails,
is cancelled (``asyncio.timeout``), or is closed. After a bare ``break`` out of an
``async for``, the event loop's async-generator finalizer closes it a moment
later; ``async with client.chat_stream(...) as stream:`` closes it on the spot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from saasllm._accumulate import ChatAccumulator
from saasllm._errors import APIResponseValidationError, StreamTruncatedError, stream_error_from_data
from saasllm._sse import ServerSentEvent, SSEDecoder
from saasllm_schema import ChatCompletionChunk, Usage

__all__ = [
    "GENERATOR_RUNNING",
    "TRANSPORT_ERRORS",
    "Live",
    "StreamAccess",
    "StreamState",
    "resumable_id",
    "stream_to_cancel",
]

_DONE = "[DONE]"


class StreamState:
    """Everything about one stream that is not I/O: SSE decoding, chunk parsing, the answer.

    Errors come out in wire order: chunks before an ``event: error`` are delivered
    first, then the error is raised.
    """

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.accumulator = ChatAccumulator()
        self.done = False
        self.last_event_id: str | None = None
        self.ended = False

    def chunks(
        self, events: Iterable[ServerSentEvent], response: httpx.Response
    ) -> Iterator[ChatCompletionChunk]:
        for event in events:
            chunk = self.interpret(event, response)
            if self.done:
                return
            if chunk is not None:
                yield chunk

    def interpret(
        self, event: ServerSentEvent, response: httpx.Response
    ) -> ChatCompletionChunk | None:
        """One event to a chunk; None for ``[DONE]``, empty data and unknown event types."""
        if event.id:
            self.last_event_id = event.id
        if event.event == "error":
            self.ended = True  # the server ended the stream; there is nothing to cancel
            raise stream_error_from_data(event.data, response)
        if event.event != "message":
            return None  # a newer server's extra event types must not break this client
        data = event.data
        if not data.strip():
            return None
        if data.strip() == _DONE:
            self.done = True
            return None
        try:
            if '"error"' in data:
                # OpenAI-style servers signal errors as a data object with an "error" key.
                obj: Any = json.loads(data)
                if isinstance(obj, dict) and "error" in obj:
                    raise stream_error_from_data(data, response)
                chunk = ChatCompletionChunk.model_validate(obj)
            else:
                chunk = ChatCompletionChunk.model_validate_json(data)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"A stream event is not a chat completion chunk: {exc}", response=response
            ) from exc
        self.accumulator.add(chunk)
        return chunk

    def truncated(self, response: httpx.Response) -> StreamTruncatedError:
        return StreamTruncatedError(request=response.request)


TRANSPORT_ERRORS = (httpx.RequestError, httpx.StreamError)

GENERATOR_RUNNING = (RuntimeError, ValueError)
"""Closing an iterator another task or thread is running: its response's close ends it."""


def resumable_id(state: StreamState) -> str | None:
    """The ``Last-Event-ID`` to resume from: job-API events are ``<stream id>:<n>``."""
    last = state.last_event_id
    return last if last and ":" in last else None


def stream_to_cancel(state: StreamState, response: httpx.Response) -> str | None:
    """The stream the gateway should stop, when this client leaves before the end."""
    if state.done or state.ended:
        return None
    last = resumable_id(state)
    if last:
        return last.rsplit(":", 1)[0]
    # Closed before the first event: the response header names the stream.
    stream_id: str | None = response.headers.get("x-stream-id")
    return stream_id


class Live:
    """The stream's current HTTP response, shared with its iterator.

    The iterator holds this, not the stream object: a generator that referenced its
    stream would form a cycle, and an abandoned ``async for ... break`` would then keep
    the connection open until the cyclic garbage collector happened to run.
    """

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: httpx.Response | None = None


class StreamAccess:
    """What both stream classes expose about the answer so far."""

    _state: StreamState
    _live: Live

    @property
    def _response(self) -> httpx.Response | None:
        return self._live.response

    @property
    def response(self) -> httpx.Response:
        """The HTTP response (status 200, headers); available once the stream has started."""
        if self._response is None:
            raise RuntimeError("The stream has not started; iterate it or enter it first.")
        return self._response

    @property
    def request_id(self) -> str | None:
        return self._response.headers.get("x-request-id") if self._response else None

    @property
    def usage(self) -> Usage | None:
        """Token counts from the usage chunk, once it has arrived (it comes last)."""
        return self._state.accumulator.usage

    @property
    def accumulator(self) -> ChatAccumulator:
        """The answer so far, updated as chunks are read."""
        return self._state.accumulator

    @property
    def done(self) -> bool:
        """True once ``data: [DONE]`` was read: the answer is complete."""
        return self._state.done
