"""uvicorn's httptools protocol with the limits it lacks, and readable streams for HTTP/1.0.

uvicorn bounds neither the size of a request head nor the time a client takes to
send it: httptools keeps an unfinished header in memory however long it grows (eight
sockets sending 50 MB each took the gateway from 415 to 808 MB), and a connection
that never finishes its head is kept for ever. Its ``limit_concurrency`` answers 503
only once a head is complete, so it refuses no socket; ``h11_max_incomplete_event_size``
is for the slower h11 parser. So the limits live here, where the bytes arrive:

* at most ``max_header_bytes`` of a head reach the parser (a pipelined request's head
  that starts inside the previous request's last read may have that read's size more),
  and a head with more than ``max_headers`` fields is dropped as soon as the parser
  returns; either is answered 431 with the one JSON error body;
* a head must be complete ``header_timeout_s`` after the connection opens, or after
  the first byte of the next request on a kept-alive one, or the connection is closed;
* beyond ``max_connections`` open connections, a new one is closed as soon as it is
  accepted, before anything is read.

Past the head, bytes go straight to uvicorn. A head that comes whole in one read (the
usual case) costs a few attribute tests and no timer: about 1 µs a request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, Final, cast

from uvicorn._types import ASGISendEvent, HTTPResponseStartEvent
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from saasllm_server.api.errors import error_json
from saasllm_server.errors import GatewayError, HeadersTooLarge
from saasllm_server.settings import Settings

log = logging.getLogger("saasllm.edge")

LINGER_S: Final = 2.0
LINGER_BYTES: Final = 4 * 1024 * 1024
"""After a 431 the client may still be sending its head. Closing a socket with unread
input makes the kernel send a reset, which can destroy the answer before the client
reads it, so the rest is read and dropped, within this time and size, before closing."""

REFUSAL_LOG_INTERVAL_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_s=settings.header_timeout_s,
            max_connections=settings.max_connections,
        )


class _RefusalLog:
    """Refusals are counted and reported at most once a minute: an attack is thousands
    of them a second, and must not also flood the log."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._next_report = 0.0

    def note(self, what: str) -> None:
        self._counts[what] += 1
        now = time.monotonic()
        if now >= self._next_report:
            report = ", ".join(f"{count} {what}" for what, count in self._counts.items())
            log.warning("edge limits refused: %s", report)
            self._counts.clear()
            self._next_report = now + REFUSAL_LOG_INTERVAL_S


_refusals = _RefusalLog()


def edge_protocol(limits: EdgeLimits) -> type[EdgeProtocol]:
    """The protocol class to give uvicorn's ``http=``: uvicorn makes protocols from a
    class alone, so the limits travel as a class attribute of a subclass."""
    bound = limits

    class ConfiguredEdgeProtocol(EdgeProtocol):
        limits = bound

    return ConfiguredEdgeProtocol


class EdgeProtocol(HttpToolsProtocol):
    """One client connection. Use :func:`edge_protocol`, which sets :attr:`limits`."""

    limits: ClassVar[EdgeLimits]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.headers = []
        self._reading_head = True
        self._head_bytes = 0
        self._too_many_headers = False
        self._discard_left: int | None = None
        self._timer: asyncio.TimerHandle | None = None

    # Connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            self._discard_left = 0
            _refusals.note("connections over max_connections")
            transport.close()
            return
        super().connection_made(transport)
        self._timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discard_left is not None:
            self._discard(len(data))
        elif self._reading_head:
            self._receive_head(data)
        else:
            super().data_received(data)
            self._after_parse()

    def _receive_head(self, data: bytes) -> None:
        """Feed the parser no more of a head than the limit: httptools would keep it all."""
        limit = self.limits.max_header_bytes
        room = limit - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            self._after_parse()
            return
        # httptools reads any buffer: the views spare copying a body that came with the head.
        view = memoryview(data)
        self._head_bytes = limit
        super().data_received(cast(bytes, view[:room]))
        if self._after_parse():
            return
        if self._reading_head and self._head_bytes == limit:
            self._refuse_head(f"the request head is larger than {limit} bytes")
            return
        self.data_received(cast(bytes, view[room:]))

    def _after_parse(self) -> bool:
        """Answer a head with too many fields, time a head left unfinished (one that came
        whole, the usual case, costs no timer); True: read no more.

        Fields are counted here rather than one by one as the parser finds them: a feed is
        at most ``max_header_bytes`` of head, so the fields it adds are bounded too, and
        they are dropped before anything else runs.
        """
        if (
            self._too_many_headers or len(self.headers) > self.limits.max_headers
        ) and self._discard_left is None:
            self._too_many_headers = True
            if not self.transport.is_closing():
                self._refuse_head(
                    f"the request has more than {self.limits.max_headers} header fields"
                )
        if self._discard_left is not None or self.transport.is_closing():
            return True
        if self._reading_head and self._head_bytes and self._timer is None:
            self._timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)
        return False

    # Parser callbacks. Once a head is over the field limit, the rest of what the parser
    # was given is ignored: it is answered 431 when the parser returns.

    def on_headers_complete(self) -> None:
        if len(self.headers) > self.limits.max_headers:
            self._too_many_headers = True
        if self._too_many_headers:
            return
        self._reading_head = False
        self._cancel_timer()
        super().on_headers_complete()
        cycle: RequestResponseCycle | None = self.cycle
        if self.scope["http_version"] == "1.0" and cycle is not None and cycle.scope is self.scope:
            cycle.__class__ = CloseDelimitedCycle

    def on_body(self, body: bytes) -> None:
        if not self._too_many_headers:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._too_many_headers:
            return
        super().on_message_complete()
        self._reading_head = True
        self._head_bytes = 0

    # Timers and refusals

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            # The answer to the previous request is still going out; the next head can wait.
            self._timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)
            return
        _refusals.note("connections too slow to send a request head")
        self.transport.close()

    def _refuse_head(self, message: str) -> None:
        _refusals.note("oversized request heads")
        self._cancel_timer()
        self.headers.clear()
        self.transport.write(self._error_response(HeadersTooLarge(message)))
        self._discard_left = LINGER_BYTES
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER_S, self.transport.close)

    def _discard(self, size: int) -> None:
        assert self._discard_left is not None
        self._discard_left -= size
        if self._discard_left <= 0:
            self.transport.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _error_response(self, error: GatewayError) -> bytes:
        """The one error body, written here because no app will ever see this request."""
        body = error_json(error.body())
        parts = [b"HTTP/1.1 %d %s\r\n" % (error.status, HTTPStatus(error.status).phrase.encode())]
        for name, value in self.server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        parts += [
            b"content-type: application/json\r\ncontent-length: ",
            str(len(body)).encode(),
            b"\r\nconnection: close\r\n\r\n",
            body,
        ]
        return b"".join(parts)


class CloseDelimitedCycle(RequestResponseCycle):
    """One exchange with an HTTP/1.0 client, which cannot read chunked encoding.

    uvicorn chunks every response without a Content-Length, whatever the request's
    version, and streams have none. For HTTP/1.0 the body goes out as it is and the
    connection's close marks its end, which HTTP/1.0 allows (RFC 9112, section 6.3);
    uvicorn closes after every HTTP/1.0 response anyway. uvicorn still frames and
    writes everything: its counter of bytes owed is set to each chunk's size, so a
    body without a declared length passes its checks.
    """

    _close_delimited = False

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            message = self._unchunked(message)
        elif message["type"] == "http.response.body" and self._close_delimited:
            self.expected_content_length = len(message.get("body", b""))
        await super().send(message)

    def _unchunked(self, start: HTTPResponseStartEvent) -> HTTPResponseStartEvent:
        headers = list(start.get("headers", ()))
        if not any(name.lower() == b"content-length" for name, _ in headers):
            self._close_delimited = True
            self.chunked_encoding = False
            headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
        return {"type": "http.response.start", "status": start["status"], "headers": headers}
