"""The whole-body answer (``"stream"`` absent or false), sent after the time a stream would take."""

from __future__ import annotations

import asyncio

from aiohttp import web

from saasllm_testing.fake.faults import close_connection
from saasllm_testing.fake.scenario import ModelSpec, Timing
from saasllm_testing.fake.stats import FakeStats
from saasllm_testing.fake.wire import Completion, completion_body, json_response


async def send_whole(
    request: web.Request,
    completion: Completion,
    timing: Timing,
    spec: ModelSpec,
    stats: FakeStats,
) -> web.Response:
    """Wait ``ttft + delay * (chunks - 1)``, then reply; ``-cut`` closes with no response."""
    try:
        wait = timing.ttft_s + timing.delay_s * max(len(completion.reply.deltas) - 1, 0)
        if wait > 0:
            await asyncio.sleep(wait)
    except asyncio.CancelledError:
        stats.abandoned += 1
        raise
    if spec.cut_after is not None:
        close_connection(request)
        return web.Response()
    return json_response(completion_body(completion))
