"""HTTP/1.x spoken byte by byte over a plain socket, for tests whose subject is the wire itself:
what an HTTP client library would refuse to send (a 1 MiB header) or would hide (chunking)."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    """Lower-cased names; the last value of a repeated name."""
    body: bytes
    """As it came on the wire: still chunked if the response was."""


class NoResponse(AssertionError):
    """The server closed the connection without answering."""


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    assert parts.port is not None, url
    return parts.hostname, parts.port


def request(
    method: str,
    path: str,
    *,
    version: str = "1.1",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """The bytes of one request; HTTP/1.1 ones ask to close, so reading to EOF ends them."""
    fields = {"Host": "127.0.0.1", **(headers or {})}
    if version == "1.1":
        fields.setdefault("Connection", "close")
    if body:
        fields["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/{version}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return head.encode("latin-1") + b"\r\n" + body


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the server closes; a reset ends the read like a close."""
    received = bytearray()
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return bytes(received)


def parse(raw: bytes) -> RawResponse:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise NoResponse(f"no complete response head in {raw[:200]!r}")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split(" ")[1]), headers, body)


def exchange(url: str, data: bytes, *, timeout: float = 30.0) -> RawResponse:
    """Send ``data`` on a fresh connection, read the answer until the server closes.

    A send cut short by the server (it answered before reading everything) still
    reads what the server said.
    """
    with socket.create_connection(address(url), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        return parse(read_to_eof(sock))


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked body (no trailers)."""
    payload = bytearray()
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(payload)
        payload += rest[:size]
        body = rest[size + 2 :]
