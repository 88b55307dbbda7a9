"""The cheapest honest relay, as the baseline the gateway's CPU is divided by.

It pays for exactly what any Python HTTP hop pays for — FastAPI routing,
uvicorn's HTTP server, one shared aiohttp session to the upstream, a
``StreamingResponse`` — and for nothing a product needs: no auth, no job,
no limits, no accounting, not even SSE parsing (upstream bytes are forwarded
in whatever pieces they arrive). Its server settings match the gateway's
(``uvloop``, ``httptools``, no access log), so the ratio gateway ÷ bare is the
price of governance alone.

    python -m bench.bare_relay --upstream http://127.0.0.1:PORT/v1 [--port 0]

prints ``READY http://127.0.0.1:<port>`` once listening.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse


class _Upstream:
    """The shared session, opened by the lifespan so it lives on the server's loop."""

    session: aiohttp.ClientSession | None = None


def create_app(upstream_base_url: str) -> FastAPI:
    chat_url = upstream_base_url.rstrip("/") + "/chat/completions"
    upstream = _Upstream()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=120)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as session:
            upstream.session = session
            yield
            upstream.session = None

    # The same framework settings as the gateway (FastAPI's per-request OpenTelemetry
    # check off), so the comparison measures governance, not configuration.
    app = FastAPI(
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        session = upstream.session
        assert session is not None, "lifespan did not run"
        answer = await session.post(
            chat_url, data=await request.body(), headers={"Content-Type": "application/json"}
        )

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for piece in answer.content.iter_any():
                    yield piece
            finally:
                answer.release()

        return StreamingResponse(
            relay(),
            status_code=answer.status,
            media_type=answer.headers.get("Content-Type", "text/event-stream"),
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_relay", description=__doc__)
    parser.add_argument("--upstream", required=True, help="OpenAI base URL, e.g. http://h:p/v1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    # Bind first so port 0 works and READY is only printed once connections are accepted.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(args.upstream),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    print(f"READY http://{args.host}:{port}", flush=True)
    os.dup2(2, 1)  # the parent stops reading stdout after READY: never block on a full pipe
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
