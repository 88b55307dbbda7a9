"""The async chat stream: reading the response, resuming it once, and always closing it.

Decoding, the answer so far and the resume bookkeeping are in
:mod:`saasllm._streaming`; only the reading, waiting and closing are here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Self

import httpx

from saasllm._closing import AsyncClosing
from saasllm._errors import wrap_transport_error
from saasllm._sse import SSEDecoder
from saasllm._streaming import (
    GENERATOR_RUNNING,
    TRANSPORT_ERRORS,
    Live,
    StreamAccess,
    StreamState,
    resumable_id,
    stream_to_cancel,
)
from saasllm_schema import ChatCompletion, ChatCompletionChunk, ResponseMessage

__all__ = ["AsyncChatStream"]


async def _iterate(
    response: httpx.Response,
    reopen: Callable[[str | None], Awaitable[httpx.Response]],
    cancel: Callable[[str], Awaitable[None]] | None,
    state: StreamState,
    live: Live,
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
            except TRANSPORT_ERRORS as exc:
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


class AsyncChatStream(AsyncClosing, StreamAccess):
    """An iterator of :class:`ChatCompletionChunk` (``async for``) and a context manager
    (``async with``)."""

    def __init__(
        self,
        open_response: Callable[[str | None], Awaitable[httpx.Response]],
        cancel: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._open = open_response
        self._cancel = cancel
        self._live = Live()
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

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if self._iterator is None:
            if self._closed:
                raise StopAsyncIteration
            response = await self._start()
            self._iterator = _iterate(response, self._open, self._cancel, self._state, self._live)
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        self._closed = True
        if self._iterator is not None:
            with contextlib.suppress(*GENERATOR_RUNNING):
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
