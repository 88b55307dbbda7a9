"""A sans-I/O Server-Sent Events decoder that follows the WHATWG parsing rules.

Hand-rolled SSE parsers are a steady source of streaming bugs (multi-line ``data``
joined wrongly, ``\\r\\n`` split across reads, a leading BOM eating the first event,
a spurious empty event after every blank line once an ``id:`` was seen). This one
is fed raw bytes exactly as they come off the socket and never does I/O, so the
sync and async streams share it and the tests can replay any byte split.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; ``id`` is the last event id seen so far (it persists)."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    """Turns a byte stream into events; call :meth:`feed` per read and :meth:`end` once.

    Only ``\\r\\n``, ``\\n`` and a lone ``\\r`` end a line (not U+2028/U+2029), an
    event is dispatched on a blank line and only if it carried ``data``, and an
    unterminated event at the end of the stream is dropped, as the spec says.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial: list[str] = []  # pieces of the current unterminated line
        self._after_cr = False  # the previous piece ended in "\r": a leading "\n" is its pair
        self._at_start = True  # a BOM is only stripped at the very start
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """What a client resuming this stream sends back as ``Last-Event-ID``."""
        return self._last_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return self._feed_text(self._utf8.decode(chunk))

    def end(self) -> list[ServerSentEvent]:
        """Flush at end of stream; a final line without a terminator still counts as a line."""
        events = self._feed_text(self._utf8.decode(b"", final=True))
        if self._partial:
            line = "".join(self._partial)
            self._partial.clear()
            self._process_line(line, events)
        # An event not closed by a blank line is incomplete: discard it.
        self._data.clear()
        self._event = ""
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if not text:
            return events
        if self._at_start:
            self._at_start = False
            if text.startswith(_BOM):
                text = text[1:]
        if self._after_cr:
            self._after_cr = False
            if text.startswith("\n"):
                text = text[1:]
        start = 0
        length = len(text)
        while start < length:
            cr = text.find("\r", start)
            lf = text.find("\n", start)
            if cr < 0 and lf < 0:
                # Keep the tail as a piece; joining only when the line ends avoids
                # re-copying a long line on every read.
                self._partial.append(text[start:])
                break
            if cr < 0 or (0 <= lf < cr):
                end, next_start = lf, lf + 1
            else:
                end = cr
                if cr + 1 < length:
                    next_start = cr + 2 if text[cr + 1] == "\n" else cr + 1
                else:
                    next_start = cr + 1
                    self._after_cr = True
            piece = text[start:end]
            if self._partial:
                self._partial.append(piece)
                piece = "".join(self._partial)
                self._partial.clear()
            self._process_line(piece, events)
            start = next_start
        return events

    def _process_line(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line.startswith(":"):
            return  # comment, e.g. the ": ping" heartbeat
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        # Any other field name is ignored.

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        if not self._data:
            # Nothing to deliver: an "event:"- or "id:"-only block, or a blank line
            # after a comment. The persisted last id must not make this an event.
            self._event = ""
            return
        events.append(
            ServerSentEvent(
                data="\n".join(self._data),
                event=self._event or "message",
                id=self._last_id,
                retry=self._retry,
            )
        )
        self._data.clear()
        self._event = ""
