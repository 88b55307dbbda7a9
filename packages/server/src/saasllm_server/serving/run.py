"""Run an app under uvicorn with the edge protocol and the settings' limits, for ``serve``
and ``demo`` alike, so the two cannot drift apart on what a client may do."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Final

import uvicorn

from saasllm_server.serving.edge import EdgeLimits, edge_protocol
from saasllm_server.settings import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp

log = logging.getLogger("saasllm.serving")

FILES_BESIDES_CLIENTS: Final = 256
"""Descriptors a process needs besides its client sockets: the database pool, upstream
connections, logs, the event loop's own."""


def run_gateway(app: ASGIApp, settings: Settings, host: str, port: int) -> None:
    limits = EdgeLimits.from_settings(settings)
    allow_open_files(limits.max_connections + FILES_BESIDES_CLIENTS)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http=edge_protocol(limits),
        ws="none",  # no route speaks WebSocket; an upgrade is served as plain HTTP
        timeout_keep_alive=settings.keep_alive_timeout_s,
        # The client address (the bad-key throttle's key) from X-Forwarded-For, when the
        # request comes through one of these proxies.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=os.environ.get("SAASLLM_LOG_LEVEL", "warning"),
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def allow_open_files(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted``.

    Many systems start services with a soft limit of 1024; below the connection cap,
    ``accept`` would fail with EMFILE (and uvicorn stop accepting for a while) before
    the cap is ever reached.
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "open files are limited to %d (hard limit): fewer than max_connections plus %d; "
            "raise the limit (ulimit -n, LimitNOFILE=) or lower SAASLLM_MAX_CONNECTIONS",
            target,
            FILES_BESIDES_CLIENTS,
        )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
