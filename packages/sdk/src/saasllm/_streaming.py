"""Chat streams: iterate chunks, get the final answer, and never leak the connection.

The request is sent lazily, on the first iteration or on entering the context
manager, so ``async for chunk in client.chat_stream(...)`` works as written and
every stream owns its own state (several can run at once on one client).

Cleanup: the HTTP response is closed in ``finally`` when the stream ends, fails,
is cancelled (``asyncio.timeout``), or is closed. After a bare ``break`` out of an
``async for``, the event loop's async-generator finalizer closes it a moment
later; ``async with client.chat_stream(...) as stream:`` closes it on the spot.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from types import TracebackType
from typing import Any, Self

import httpx

from saasllm._accumulate import ChatAccumulator
from saasllm._errors import (
    APIResponseValidationError,
    StreamTruncatedError,
    stream_error_from_data,
    wrap_transport_error,
)
from saasllm._sse import ServerSentEvent, SSEDecoder
from saasllm_schema import ChatCompletion, ChatCompletionChunk, ResponseMessage, Usage

__all__ = ["AsyncChatStream", "ChatStream", "StreamState"]

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


_TRANSPORT_ERRORS = (httpx.RequestError, httpx.StreamError)


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


class _Live:
    """The stream's current HTTP response, shared with its iterator.

    The iterator holds this, not the stream object: a generator that referenced its
    stream would form a cycle, and an abandoned ``async for ... break`` would then keep
    the connection open until the cyclic garbage collector happened to run.
    """

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: httpx.Response | None = None


class _StreamAccess:
    """What both stream classes expose about the answer so far."""

    _state: StreamState
    _live: _Live

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


async def _aiterate(
    response: httpx.Response,
    reopen: Callable[[str | None], Awaitable[httpx.Response]],
    cancel: Callable[[str], Awaitable[None]] | None,
    state: StreamState,
    live: _Live,
) -> AsyncGenerator[ChatCompletionChunk, None]:
    resumed = False
    try:
        while True:
            try:
                async for data in response.aiter_bytes():
                    for chunk in state.chunks(state.decoder.feed(data), response):
                        yield chunk
                    if state.done:
                        return
                for chunk in state.chunks(state.decoder.end(), response):
                    yield chunk
                if state.done:
                    return
                failure: Exception = state.truncated(response)
                cause: BaseException | None = None
            except _TRANSPORT_ERRORS as exc:
                failure, cause = wrap_transport_error(exc, response.request), exc
            resume_from = None if resumed else resumable_id(state)
            if resume_from is None:
                raise failure from cause
            # The connection broke mid-answer: ask for the rest, once.
            resumed = True
            await response.aclose()
            state.decoder = SSEDecoder()
            response = live.response = await reopen(resume_from)
    finally:
        await response.aclose()
        stream_id = stream_to_cancel(state, response)
        if cancel is not None and stream_id is not None:
            # Stopped early: tell the gateway, so the upstream stops generating too.
            with contextlib.suppress(Exception):
                await cancel(stream_id)


class AsyncChatStream(_StreamAccess):
    """Async iterator of :class:`ChatCompletionChunk`, and an async context manager."""

    def __init__(
        self,
        open_response: Callable[[str | None], Awaitable[httpx.Response]],
        cancel: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._open = open_response
        self._cancel = cancel
        self._live = _Live()
        self._state = StreamState()
        self._iterator: AsyncGenerator[ChatCompletionChunk, None] | None = None
        self._closed = False

    async def _start(self) -> httpx.Response:
        if self._live.response is None:
            if self._closed:
                raise RuntimeError("The stream was closed before it started.")
            self._live.response = await self._open(None)
        return self._live.response

    async def __aenter__(self) -> Self:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if self._iterator is None:
            if self._closed:
                raise StopAsyncIteration
            response = await self._start()
            self._iterator = _aiterate(response, self._open, self._cancel, self._state, self._live)
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        self._closed = True
        if self._iterator is not None:
            # RuntimeError: another task is iterating right now; closing the response ends it.
            with contextlib.suppress(RuntimeError):
                await self._iterator.aclose()
        elif self._response is not None and self._cancel is not None:
            # Entered but never read: the iterator's cleanup will not run, so stop it here.
            stream_id = stream_to_cancel(self._state, self._response)
            if stream_id is not None:
                with contextlib.suppress(Exception):
                    await self._cancel(stream_id)
        if self._response is not None:
            await self._response.aclose()

    close = aclose

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Just the text increments of the first choice (shares the one underlying iterator)."""
        return self._texts()

    async def _texts(self) -> AsyncGenerator[str, None]:
        async for chunk in self:
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    yield choice.delta.content

    async def until_done(self) -> None:
        """Read the rest of the stream (chunks are still accumulated)."""
        async for _ in self:
            pass

    async def get_final_completion(self) -> ChatCompletion:
        await self.until_done()
        return self._state.accumulator.completion()

    async def get_final_message(self) -> ResponseMessage:
        await self.until_done()
        return self._state.accumulator.message()

    async def final_text(self) -> str:
        await self.until_done()
        return self._state.accumulator.text


def _iterate(
    response: httpx.Response,
    reopen: Callable[[str | None], httpx.Response],
    cancel: Callable[[str], None] | None,
    state: StreamState,
    live: _Live,
) -> Generator[ChatCompletionChunk, None, None]:
    resumed = False
    try:
        while True:
            try:
                for data in response.iter_bytes():
                    yield from state.chunks(state.decoder.feed(data), response)
                    if state.done:
                        return
                yield from state.chunks(state.decoder.end(), response)
                if state.done:
                    return
                failure: Exception = state.truncated(response)
                cause: BaseException | None = None
            except _TRANSPORT_ERRORS as exc:
                failure, cause = wrap_transport_error(exc, response.request), exc
            resume_from = None if resumed else resumable_id(state)
            if resume_from is None:
                raise failure from cause
            resumed = True
            response.close()
            state.decoder = SSEDecoder()
            response = live.response = reopen(resume_from)
    finally:
        response.close()
        stream_id = stream_to_cancel(state, response)
        if cancel is not None and stream_id is not None:
            with contextlib.suppress(Exception):
                cancel(stream_id)


class ChatStream(_StreamAccess):
    """The blocking twin of :class:`AsyncChatStream`: an iterator and a context manager."""

    def __init__(
        self,
        open_response: Callable[[str | None], httpx.Response],
        cancel: Callable[[str], None] | None = None,
    ) -> None:
        self._open = open_response
        self._cancel = cancel
        self._live = _Live()
        self._state = StreamState()
        self._iterator: Generator[ChatCompletionChunk, None, None] | None = None
        self._closed = False

    def _start(self) -> httpx.Response:
        if self._live.response is None:
            if self._closed:
                raise RuntimeError("The stream was closed before it started.")
            self._live.response = self._open(None)
        return self._live.response

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if self._iterator is None:
            if self._closed:
                raise StopIteration
            response = self._start()
            self._iterator = _iterate(response, self._open, self._cancel, self._state, self._live)
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        self._closed = True
        if self._iterator is not None:
            # ValueError: "generator already executing" (closed from another thread).
            with contextlib.suppress(ValueError):
                self._iterator.close()
        elif self._response is not None and self._cancel is not None:
            stream_id = stream_to_cancel(self._state, self._response)
            if stream_id is not None:
                with contextlib.suppress(Exception):
                    self._cancel(stream_id)
        if self._response is not None:
            self._response.close()

    @property
    def text_stream(self) -> Iterator[str]:
        return self._texts()

    def _texts(self) -> Generator[str, None, None]:
        for chunk in self:
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    yield choice.delta.content

    def until_done(self) -> None:
        for _ in self:
            pass

    def get_final_completion(self) -> ChatCompletion:
        self.until_done()
        return self._state.accumulator.completion()

    def get_final_message(self) -> ResponseMessage:
        self.until_done()
        return self._state.accumulator.message()

    def final_text(self) -> str:
        self.until_done()
        return self._state.accumulator.text
