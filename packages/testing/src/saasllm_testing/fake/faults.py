"""The faults that act before a response starts, and the abrupt end of a connection.

A gateway must survive an upstream that never answers, answers late, or drops
the connection in the middle of a body; these are played for real on the
socket, so what the gateway sees is what a broken provider would do.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from saasllm_testing.fake.scenario import ModelSpec


async def forever() -> None:
    """Wait until the client goes away (aiohttp then cancels the handler)."""
    await asyncio.get_running_loop().create_future()


async def hold_before_headers(spec: ModelSpec, *, stream: bool) -> None:
    """``-hang`` (and ``-stall`` without streaming) never answer; ``-slowfirst`` answers late.

    These run before the error faults, so ``fake-slowfirst500-429`` answers 429
    after half a second.
    """
    if spec.hang or (spec.stall and not stream):
        await forever()
    if spec.slowfirst_ms > 0:
        await asyncio.sleep(spec.slowfirst_ms / 1000)


def close_connection(request: web.Request) -> None:
    """Drop the socket: no final chunk, no terminating empty chunk of the chunked body."""
    transport = request.transport
    if transport is not None:
        transport.close()
