"""The SSE answer: a role chunk, one chunk per delta, the finish chunk, usage, ``[DONE]``.

Each frame is its own write, so the client receives chunks at the pace the
scenario sets (aiohttp sets TCP_NODELAY on every connection). The stream
faults (``-cut``, ``-stall``) act between those writes.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from saasllm_testing.fake.faults import close_connection, forever
from saasllm_testing.fake.scenario import ModelSpec, Timing
from saasllm_testing.fake.stats import FakeStats
from saasllm_testing.fake.wire import DONE, ChunkFrames, Completion

_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


async def send_stream(
    request: web.Request,
    completion: Completion,
    timing: Timing,
    spec: ModelSpec,
    stats: FakeStats,
    *,
    include_usage: bool,
) -> web.StreamResponse:
    """Stream ``completion``; a client that goes away is counted, never raised to aiohttp."""
    frames = ChunkFrames(completion, include_usage=include_usage)
    response = web.StreamResponse(headers=_HEADERS)
    stats.streams_started += 1
    stats.open_streams += 1
    try:
        await response.prepare(request)
        if timing.ttft_s > 0:
            await asyncio.sleep(timing.ttft_s)
        await response.write(frames.role)
        completed = await _write_deltas(response, completion, frames, timing, spec)
        if not completed:
            stats.streams_aborted += 1
            close_connection(request)
            return response
        await response.write(frames.finish)
        if include_usage:
            await response.write(frames.usage(completion.usage))
        await response.write(DONE)
        stats.streams_completed += 1
    except asyncio.CancelledError:
        stats.streams_disconnected += 1
        raise
    except ConnectionError:
        stats.streams_disconnected += 1
    finally:
        stats.open_streams -= 1
    return response


async def _write_deltas(
    response: web.StreamResponse,
    completion: Completion,
    frames: ChunkFrames,
    timing: Timing,
    spec: ModelSpec,
) -> bool:
    """The content chunks, ``delay`` apart; False when ``-cut`` ends the stream here.

    ``-stall`` sends the first content chunk (none if there is none) and then
    waits for the client to leave.
    """
    deltas = completion.reply.deltas
    if spec.stall and not deltas:
        await forever()
    for index, delta in enumerate(deltas):
        if index == spec.cut_after:
            break
        if index and timing.delay_s > 0:
            await asyncio.sleep(timing.delay_s)
        await response.write(frames.delta(delta))
        if spec.stall:
            await forever()
    return spec.cut_after is None
