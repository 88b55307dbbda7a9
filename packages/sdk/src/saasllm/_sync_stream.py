# Generated from _stream.py by scripts/generate_sync.py; do not edit.
"""The blocking chat stream: reading the response, resuming it once, and always closing it.

Decoding, the answer so far and the resume bookkeeping are in
:mod:`saasllm._streaming`; only the reading, waiting and closing are here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import Self

import httpx

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
from saasllm._sync_closing import Closing
from saasllm_schema import ChatCompletion, ChatCompletionChunk, ResponseMessage

__all__ = ["ChatStream"]


def _iterate(
    response: httpx.Response,
    reopen: Callable[[str | None], httpx.Response],
    cancel: Callable[[str], None] | None,
    state: StreamState,
    live: Live,
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
            except TRANSPORT_ERRORS as exc:
                failure, cause = wrap_transport_error(exc, response.request), exc
            resume_from = None if resumed else resumable_id(state)
            if resume_from is None:
                raise failure from cause
            # The connection broke mid-answer: ask for the rest, once.
            resumed = True
            response.close()
            state.decoder = SSEDecoder()
            response = live.response = reopen(resume_from)
    finally:
        response.close()
        stream_id = stream_to_cancel(state, response)
        if cancel is not None and stream_id is not None:
            # Stopped early: tell the gateway, so the upstream stops generating too.
            with contextlib.suppress(Exception):
                cancel(stream_id)


class ChatStream(Closing, StreamAccess):
    """An iterator of :class:`ChatCompletionChunk` (``for``) and a context manager
    (``with``)."""

    def __init__(
        self,
        open_response: Callable[[str | None], httpx.Response],
        cancel: Callable[[str], None] | None = None,
    ) -> None:
        self._open = open_response
        self._cancel = cancel
        self._live = Live()
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

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if self._iterator is None:
            if self._closed:
                raise StopIteration
            response = self._start()
            self._iterator = _iterate(response, self._open, self._cancel, self._state, self._live)
        return self._iterator.__next__()

    def close(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        self._closed = True
        if self._iterator is not None:
            with contextlib.suppress(*GENERATOR_RUNNING):
                self._iterator.close()
        elif self._response is not None and self._cancel is not None:
            # Entered but never read: the iterator's cleanup will not run, so stop it here.
            stream_id = stream_to_cancel(self._state, self._response)
            if stream_id is not None:
                with contextlib.suppress(Exception):
                    self._cancel(stream_id)
        if self._response is not None:
            self._response.close()

    @property
    def text_stream(self) -> Iterator[str]:
        """Just the text increments of the first choice (shares the one underlying iterator)."""
        return self._texts()

    def _texts(self) -> Generator[str, None, None]:
        for chunk in self:
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    yield choice.delta.content

    def until_done(self) -> None:
        """Read the rest of the stream (chunks are still accumulated)."""
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
