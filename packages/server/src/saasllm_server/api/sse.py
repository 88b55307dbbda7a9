"""Server-Sent Events: each upstream event is sent the moment it arrives.

``EventStreamResponse`` sends an async iterator of ready-made SSE events. One
monitor task per stream does the rare things: it notices the client leaving
(and cancels the relay, which closes the upstream at once), sends ``: ping``
comments when the upstream is silent, and cuts a client that stopped reading.
The per-event path is one ``send``.

Two sources feed it: ``direct_events`` (the upstream relayed straight through,
used by the OpenAI-compatible and single-call endpoints) and a resumable stream's
log (job-API streams, numbered so a client can reconnect with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from saasllm_server.api.errors import error_payload
from saasllm_server.domain.calls import StreamingCall, client_error
from saasllm_server.domain.resume import StreamLog
from saasllm_server.errors import GatewayError, StreamAbandoned
from saasllm_server.settings import Settings
from saasllm_server.upstreams.streams import DONE_EVENT, UpstreamFailure

log = logging.getLogger("saasllm.sse")

PING_EVENT = b": ping\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]

OnClose = Callable[[str, str | None], Awaitable[None]]


def error_event(error: GatewayError) -> bytes:
    payload = error_payload(error.type.value, error.code.value, error.message)
    return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"


async def direct_events(call: StreamingCall) -> AsyncIterator[bytes]:
    """The call's events, then ``[DONE]`` or an error event; the call is recorded first,
    so a client that acts on ``[DONE]`` (completing the job) always sees its call."""
    yield call.first
    try:
        async for event in call.events:
            yield event
    except UpstreamFailure as failure:
        await call.finish("failed", failure.message)
        yield error_event(client_error(failure))
        return
    await call.finish("success")
    yield DONE_EVENT


class _Watch:
    """Shared between the sender and its monitor; plain attributes, no locks needed."""

    __slots__ = ("ending", "gone", "last_sent", "sending_since", "too_slow")

    def __init__(self, now: float) -> None:
        self.ending = False
        self.gone = False
        self.too_slow = False
        self.last_sent = now
        self.sending_since: float | None = None


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[bytes],
        on_close: OnClose,
        *,
        heartbeat_s: float = 15.0,
        send_timeout_s: float = 30.0,
    ) -> None:
        # Headers are sent by __call__; Response's own body machinery is not used.
        self.events = events
        self.on_close = on_close
        self.status_code = 200
        self.background = None
        self.heartbeat_s = heartbeat_s
        self.send_timeout_s = send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        watch = _Watch(loop.time())

        async def listen() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    # After the last body message the server reports a disconnect too.
                    if not watch.ending:
                        watch.gone = True
                        task.cancel()
                    return

        async def monitor() -> None:
            tick = min(self.heartbeat_s, self.send_timeout_s) / 4
            while not watch.ending:
                await asyncio.sleep(tick)
                now = loop.time()
                if watch.sending_since is not None:
                    if now - watch.sending_since > self.send_timeout_s:
                        watch.too_slow = True
                        task.cancel()
                        return
                elif now - watch.last_sent >= self.heartbeat_s and not watch.ending:
                    await _send(send, watch, loop, PING_EVENT)

        helpers = [asyncio.create_task(listen()), asyncio.create_task(monitor())]
        status, error = "success", None
        try:
            start: Message = {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS}
            await send(start)
            async for event in self.events:
                watch.sending_since = loop.time()
                await send({"type": "http.response.body", "body": event, "more_body": True})
                watch.sending_since = None
                watch.last_sent = loop.time()
            watch.ending = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not (watch.gone or watch.too_slow):
                raise
            task.uncancel()
            status = "cancelled"
            error = "client disconnected" if watch.gone else "client stopped reading"
        except OSError:
            status, error = "cancelled", "client connection lost"
        finally:
            watch.ending = True
            for helper in helpers:
                helper.cancel()
            await _close_quietly(self.on_close, status, error)


async def _send(send: Send, watch: _Watch, loop: asyncio.AbstractEventLoop, body: bytes) -> None:
    watch.sending_since = loop.time()
    await send({"type": "http.response.body", "body": body, "more_body": True})
    watch.sending_since = None
    watch.last_sent = loop.time()


async def _close_quietly(on_close: OnClose, status: str, error: str | None) -> None:
    try:
        await on_close(status, error)
    except asyncio.CancelledError:
        raise
    except Exception:  # the response is over; a failed record must not turn into a 500 body
        log.exception("closing a stream failed")


def sse_response(call: StreamingCall, settings: Settings) -> EventStreamResponse:
    """A stream relayed straight through; leaving it ends the upstream call."""
    return EventStreamResponse(
        direct_events(call),
        call.finish,
        heartbeat_s=settings.heartbeat_interval_s,
        send_timeout_s=settings.send_timeout_s,
    )


class ResumableStream:
    """Pumps a call's events into its log, independently of any one client connection.

    When the last reader leaves before the end, the upstream is given ``grace_s`` to be
    resumed (0 unless the client asked for it); then it is cancelled and the call
    recorded with the tokens produced.
    """

    def __init__(
        self, call: StreamingCall, log: StreamLog, settings: Settings, grace_s: float
    ) -> None:
        self.call = call
        self.log = log
        self._retention_s = settings.resume_retention_s
        self._grace_s = grace_s
        log.control = self
        self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        call, log = self.call, self.log
        log.append(call.first)
        try:
            async for event in call.events:
                log.append(event)
        except UpstreamFailure as failure:
            await call.finish("failed", failure.message)
            log.close(error_event(client_error(failure)), self._retention_s)
            return
        except asyncio.CancelledError:
            await call.finish("cancelled", "client disconnected")
            log.close(error_event(StreamAbandoned("the stream was abandoned")), self._retention_s)
            raise
        await call.finish("success")
        log.close(DONE_EVENT, self._retention_s)

    async def reader_left(self) -> None:
        if self.log.done or self.log.readers > 0:
            return
        if self._grace_s > 0:
            await asyncio.sleep(self._grace_s)
            if self.log.done or self.log.readers > 0:
                return
        await self.cancel()

    async def cancel(self) -> None:
        if self._pump.done():
            return
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


def log_response(log: StreamLog, after: int, settings: Settings) -> EventStreamResponse:
    """A job-API stream read from its log (first connection or a resume)."""

    async def reader_left(status: str, error: str | None) -> None:
        if log.control is not None:
            # Waiting out the grace must not hold this request open: do it in the background.
            task = asyncio.create_task(log.control.reader_left())
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)

    return EventStreamResponse(
        log.follow(after),
        reader_left,
        heartbeat_s=settings.heartbeat_interval_s,
        send_timeout_s=settings.send_timeout_s,
    )


_BACKGROUND: set[asyncio.Task[None]] = set()
