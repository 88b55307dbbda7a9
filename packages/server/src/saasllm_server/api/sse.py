"""Server-Sent Events for a ``StreamingCall``: each upstream event is sent the moment it
arrives, with no task group or memory channel between the upstream and the socket.

One monitor task per stream does the rare things: it notices the client leaving
(and cancels the relay, which closes the upstream at once), sends ``: ping``
comments when the upstream is silent, and cuts a client that stopped reading.
The per-event path is a single ``send``.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from saasllm_server.api.errors import error_payload
from saasllm_server.domain.calls import StreamingCall, client_error
from saasllm_server.errors import GatewayError
from saasllm_server.settings import Settings
from saasllm_server.upstreams.streams import DONE_EVENT, UpstreamFailure

log = logging.getLogger("saasllm.sse")

PING_EVENT = b": ping\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def error_event(error: GatewayError) -> bytes:
    payload = error_payload(error.type.value, error.code.value, error.message)
    return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"


class _Watch:
    """Shared between the relay and its monitor; plain attributes, no locks needed."""

    __slots__ = ("ending", "gone", "last_sent", "sending_since", "too_slow")

    def __init__(self, now: float) -> None:
        self.ending = False
        self.gone = False
        self.too_slow = False
        self.last_sent = now
        self.sending_since: float | None = None


def sse_response(call: StreamingCall, settings: Settings) -> SSEResponse:
    return SSEResponse(
        call, heartbeat_s=settings.heartbeat_interval_s, send_timeout_s=settings.send_timeout_s
    )


class SSEResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self, call: StreamingCall, *, heartbeat_s: float = 15.0, send_timeout_s: float = 30.0
    ) -> None:
        # Headers are sent by __call__; Response's own body machinery is not used.
        self.call = call
        self.status_code = 200
        self.background = None
        self.heartbeat_s = heartbeat_s
        self.send_timeout_s = send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        watch = _Watch(loop.time())

        async def timed_send(message: Message) -> None:
            watch.sending_since = loop.time()
            await send(message)
            watch.sending_since = None
            watch.last_sent = loop.time()

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
                    await timed_send(
                        {"type": "http.response.body", "body": PING_EVENT, "more_body": True}
                    )

        helpers = [asyncio.create_task(listen()), asyncio.create_task(monitor())]
        call = self.call
        status, error = "success", None
        try:
            await timed_send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await timed_send({"type": "http.response.body", "body": call.first, "more_body": True})
            try:
                async for event in call.events:
                    watch.sending_since = loop.time()
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                    watch.sending_since = None
                    watch.last_sent = loop.time()
            except UpstreamFailure as failure:
                status, error = "failed", failure.message
                await call.finish(status, error)
                tail = error_event(client_error(failure))
            else:
                await call.finish(status)
                tail = DONE_EVENT
            watch.ending = True
            await send({"type": "http.response.body", "body": tail, "more_body": False})
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
            await _finish_quietly(call, status, error)


async def _finish_quietly(call: StreamingCall, status: str, error: str | None) -> None:
    try:
        await call.finish(status, error)
    except asyncio.CancelledError:
        raise
    except Exception:  # the response is over; a failed record must not turn into a 500 body
        log.exception("recording a streamed call failed")
