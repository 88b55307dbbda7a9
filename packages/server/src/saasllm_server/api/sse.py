"""Server-Sent Events for a ``StreamingCall``: each upstream event is sent the moment it
arrives, with no task group or memory channel between the upstream and the socket.

A watcher task listens for the client's disconnect and cancels the relay, so an
abandoned stream stops the upstream at once instead of at the next failed write.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from saasllm_server.api.errors import error_payload
from saasllm_server.domain.calls import StreamingCall, client_error
from saasllm_server.errors import GatewayError
from saasllm_server.upstreams.streams import DONE_EVENT, UpstreamFailure

log = logging.getLogger("saasllm.sse")

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def error_event(error: GatewayError) -> bytes:
    payload = error_payload(error.type.value, error.code.value, error.message)
    return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"


class SSEResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, call: StreamingCall) -> None:
        # Headers are sent by __call__; Response's own body machinery is not used.
        self.call = call
        self.status_code = 200
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        gone = asyncio.Event()
        ending = False

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    # After the last body message the server reports a disconnect too.
                    if not ending:
                        gone.set()
                        task.cancel()
                    return

        watcher = asyncio.create_task(watch())
        call = self.call
        status, error = "success", None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await send({"type": "http.response.body", "body": call.first, "more_body": True})
            try:
                async for event in call.events:
                    await send({"type": "http.response.body", "body": event, "more_body": True})
            except UpstreamFailure as failure:
                status, error = "failed", failure.message
                await call.finish(status, error)
                tail = error_event(client_error(failure))
            else:
                await call.finish(status)
                tail = DONE_EVENT
            ending = True
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            task.uncancel()
            status, error = "cancelled", "client disconnected"
        except OSError:
            status, error = "cancelled", "client connection lost"
        finally:
            watcher.cancel()
            await _finish_quietly(call, status, error)


async def _finish_quietly(call: StreamingCall, status: str, error: str | None) -> None:
    try:
        await call.finish(status, error)
    except asyncio.CancelledError:
        raise
    except Exception:  # the response is over; a failed record must not turn into a 500 body
        log.exception("recording a streamed call failed")
