"""Server-Sent Events: each upstream event is sent the moment it arrives.

``EventStreamResponse`` sends an async iterator of ready-made SSE events. The
rare things happen off the per-event path, which is one ``send``: a listener
task per stream notices the client leaving (and cancels the relay, which closes
the upstream at once); the app's ``EventStreams`` sweeper sends ``: ping``
comments when the upstream is silent and cuts a client that stopped reading.

Two sources feed it: ``direct_events`` (the upstream relayed straight through,
used by the OpenAI-compatible and single-call endpoints) and a resumable stream's
log (job-API streams, numbered so a client can reconnect with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from saasllm_schema import CallStatus
from saasllm_server.api.errors import error_json
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

OnClose = Callable[[CallStatus, str | None], Awaitable[None]]


def error_event(error: GatewayError) -> bytes:
    return b"event: error\ndata: " + error_json(error.body()) + b"\n\n"


async def direct_events(call: StreamingCall) -> AsyncIterator[bytes]:
    """The call's events, then ``[DONE]`` or an error event; the call is handed to the
    recorder first, so a client that acts on ``[DONE]`` (completing the job) always sees it."""
    yield b"".join(call.first)
    try:
        async for batch in call.events:
            yield b"".join(batch)
    except UpstreamFailure as failure:
        await call.finish(CallStatus.FAILED, failure.message)
        yield error_event(client_error(failure))
        return
    await call.finish(CallStatus.SUCCESS)
    yield DONE_EVENT


async def logged_events(
    call: StreamingCall, log: StreamLog, retention_s: float
) -> AsyncIterator[bytes]:
    """The first reader's events: relayed straight from the upstream, and numbered into the
    log on the way, so a later reader (a resume) can replay and follow them."""
    try:
        yield b"".join([log.append(event) for event in call.first])
        try:
            async for batch in call.events:
                yield b"".join([log.append(event) for event in batch])
        except UpstreamFailure as failure:
            await call.finish(CallStatus.FAILED, failure.message)
            yield log.close(error_event(client_error(failure)), retention_s)
            return
        await call.finish(CallStatus.SUCCESS)
        yield log.close(DONE_EVENT, retention_s)
    finally:
        if not log.done:
            log.close(error_event(StreamAbandoned("the stream was abandoned")), retention_s)


async def _nothing_to_close(status: CallStatus, error: str | None) -> None:
    return None


class EventStreams:
    """The app's open event streams, and the one task that minds them all (not a timer task
    per stream): it sends heartbeats, cuts clients that stopped reading, and ends lingering
    streams nobody resumed.

    The app's lifespan makes it and closes it, so its task and the pings it sends live on
    the loop that serves the requests.
    """

    TICK_S = 0.25

    def __init__(self, settings: Settings) -> None:
        self._heartbeat_s = settings.heartbeat_interval_s
        self._send_timeout_s = settings.send_timeout_s
        self._retention_s = settings.resume_retention_s
        self._watches: set[_Watch] = set()
        self._logged: dict[str, _Watch] = {}
        self._task: asyncio.Task[None] | None = None
        self._pings: set[asyncio.Task[None]] = set()

    def relay(self, call: StreamingCall) -> EventStreamResponse:
        """A stream relayed straight through; leaving it ends the upstream call."""
        return EventStreamResponse(direct_events(call), call.finish, self)

    def relay_logged(
        self, call: StreamingCall, log: StreamLog, linger_s: float
    ) -> EventStreamResponse:
        """A new job-API stream; with ``linger_s`` the upstream outlives a lost connection."""
        return EventStreamResponse(
            logged_events(call, log, self._retention_s),
            call.finish,
            self,
            linger_s=linger_s,
            others_reading=lambda: log.readers > 0,
            stream_id=log.stream_id,
            headers=[(b"x-stream-id", log.stream_id.encode())],
        )

    def resume(self, log: StreamLog, after: int) -> EventStreamResponse:
        """A reconnecting client: the events after ``after``, then the live rest."""
        return EventStreamResponse(log.follow(after), _nothing_to_close, self)

    def cancel(self, stream_id: str) -> None:
        """Stop the upstream of a logged stream now (its client is done with it)."""
        watch = self._logged.get(stream_id)
        if watch is not None:
            watch.stop()

    def add(self, watch: _Watch, stream_id: str | None) -> None:
        self._watches.add(watch)
        if stream_id is not None:
            self._logged[stream_id] = watch
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    def remove(self, watch: _Watch, stream_id: str | None) -> None:
        self._watches.discard(watch)
        if stream_id is not None and self._logged.get(stream_id) is watch:
            del self._logged[stream_id]

    async def close(self) -> None:
        tasks = [*self._pings, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._watches:
            await asyncio.sleep(self.TICK_S)
            now = loop.time()
            for watch in list(self._watches):
                if watch.check(now, self._heartbeat_s, self._send_timeout_s):
                    self._spawn(watch.ping())

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._pings.add(task)
        task.add_done_callback(self._pings.discard)


class _Watch:
    """One open stream as the sweeper sees it; plain attributes, no locks needed."""

    __slots__ = (
        "ending",
        "gone",
        "gone_at",
        "in_send",
        "linger_s",
        "others_reading",
        "quiet_since",
        "seen_sent",
        "send",
        "send_started",
        "sent",
        "task",
        "too_slow",
    )

    def __init__(
        self,
        task: asyncio.Task[object],
        send: Send,
        now: float,
        linger_s: float,
        others_reading: Callable[[], bool] | None,
    ) -> None:
        self.task = task
        self.send = send
        self.linger_s = linger_s
        self.others_reading = others_reading
        self.ending = False
        self.gone = False
        self.gone_at: float | None = None
        self.too_slow = False
        # The relay only flips a flag and bumps a counter per send; the sweeper, which
        # looks a few times a second, turns them into times. No clock reads per event.
        self.in_send = False
        self.sent = 0
        self.seen_sent = 0
        self.quiet_since = now
        self.send_started: float | None = None

    def stop(self, *, too_slow: bool = False) -> None:
        if not self.ending:
            if too_slow:
                self.too_slow = True
            else:
                self.gone = True
            self.task.cancel()

    def check(self, now: float, heartbeat_s: float, send_timeout_s: float) -> bool:
        """The rare events of a stream, looked at a few times a second by the sweeper.
        True when a heartbeat is due: the caller sends it with ``ping``."""
        if self.ending:
            return False
        if self.gone_at is not None:
            resumed = self.others_reading is not None and self.others_reading()
            if now - self.gone_at >= self.linger_s and not resumed:
                self.stop()
            return False
        if self.sent != self.seen_sent:
            self.seen_sent = self.sent
            self.quiet_since = now
            self.send_started = None
        if self.in_send:
            if self.send_started is None:
                self.send_started = now
            elif now - self.send_started > send_timeout_s:
                self.stop(too_slow=True)
            return False
        if now - self.quiet_since >= heartbeat_s:
            self.in_send = True
            return True
        return False

    async def ping(self) -> None:
        try:
            await self.send({"type": "http.response.body", "body": PING_EVENT, "more_body": True})
        finally:
            self.in_send = False
            self.sent += 1


class EventStreamResponse(Response):
    """Sends an async iterator of ready-made SSE events; ``on_close`` hears how it ended."""

    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[bytes],
        on_close: OnClose,
        streams: EventStreams,
        *,
        linger_s: float = 0.0,
        others_reading: Callable[[], bool] | None = None,
        stream_id: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        # Headers are sent by __call__; Response's own body machinery is not used.
        self.events = events
        self.on_close = on_close
        self.streams = streams
        self.status_code = 200
        self.background = None
        self.linger_s = linger_s
        self.others_reading = others_reading
        self.stream_id = stream_id
        self.extra_headers = headers or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        watch = _Watch(task, send, loop.time(), self.linger_s, self.others_reading)

        async def listen() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    # After the last body message the server reports a disconnect too.
                    if watch.ending:
                        return
                    if self.linger_s > 0:
                        # Keep reading the upstream into the stream's log (sends are no-ops
                        # now) so the client can resume; the sweeper ends it after linger_s.
                        watch.gone_at = loop.time()
                        return
                    watch.stop()
                    return

        listener = asyncio.create_task(listen())
        self.streams.add(watch, self.stream_id)
        status, error = CallStatus.SUCCESS, None
        try:
            start: Message = {
                "type": "http.response.start",
                "status": 200,
                "headers": SSE_HEADERS + self.extra_headers,
            }
            await send(start)
            async for event in self.events:
                watch.in_send = True
                await send({"type": "http.response.body", "body": event, "more_body": True})
                watch.in_send = False
                watch.sent += 1
            watch.ending = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not (watch.gone or watch.too_slow):
                raise
            task.uncancel()
            status = CallStatus.CANCELLED
            error = "client disconnected" if watch.gone else "client stopped reading"
        except OSError:
            status, error = CallStatus.CANCELLED, "client connection lost"
        finally:
            watch.ending = True
            self.streams.remove(watch, self.stream_id)
            listener.cancel()
            await _close_quietly(self.on_close, status, error)


async def _close_quietly(on_close: OnClose, status: CallStatus, error: str | None) -> None:
    try:
        await on_close(status, error)
    except asyncio.CancelledError:
        raise
    except Exception:  # the response is over; a failed record must not turn into a 500 body
        log.exception("closing a stream failed")
