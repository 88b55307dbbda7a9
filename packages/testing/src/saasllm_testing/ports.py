"""Local TCP ports for child servers.

A port from :func:`free_port` is only free when it is returned: another process
may take it before the child binds it. Children that can bind port 0 themselves
and announce where they listen (a ``READY <url>`` line) avoid that race; the
gateway cannot, so it gets one of these.
"""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A port nobody listens on right now, chosen by the kernel."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Whether something accepts connections on ``host:port``.

    A connection attempt rather than a bind: a port left in TIME_WAIT by a gateway
    that just stopped is reusable (uvicorn sets ``SO_REUSEADDR``) yet fails a bind.
    """
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
