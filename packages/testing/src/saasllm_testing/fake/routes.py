"""The fake's HTTP endpoints; ``POST /v1/chat/completions`` reads as the order things happen.

Count the call, play the faults that come before any header, answer an error
status if asked, then decide the reply once and send it whole or as a stream.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import orjson
from aiohttp import web

from saasllm_testing.fake.answers import count_prompt_tokens
from saasllm_testing.fake.faults import hold_before_headers
from saasllm_testing.fake.non_streaming import send_whole
from saasllm_testing.fake.replies import plan_reply
from saasllm_testing.fake.scenario import ModelSpec, ServerDefaults, parse_model_name, timing_for
from saasllm_testing.fake.stats import STATS_KEY
from saasllm_testing.fake.streaming import send_stream
from saasllm_testing.fake.wire import Completion, bad_request, error_response, json_response

DEFAULTS_KEY: Final = web.AppKey("fake_defaults", ServerDefaults)
_MODELS_CREATED: Final = 1700000000


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await _read_json_object(request)
    if isinstance(body, web.Response):
        return body
    stats = request.app[STATS_KEY]
    model = _model_name(body)
    number = stats.record_request(model, body, request.headers)
    spec = parse_model_name(model)
    stream = body.get("stream") is True
    try:
        await hold_before_headers(spec, stream=stream)
    except asyncio.CancelledError:
        stats.abandoned += 1
        raise
    if spec.status is not None:
        retry_after = spec.retry_after if spec.status in (429, 503) else None
        return error_response(spec.status, retry_after)
    timing = timing_for(spec, request.headers, request.app[DEFAULTS_KEY])
    completion = _complete(body, spec, model, number)
    if not stream:
        return await send_whole(request, completion, timing, spec, stats)
    return await send_stream(
        request, completion, timing, spec, stats, include_usage=_wants_usage(body)
    )


async def _read_json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request body, or the 400 response that refuses it."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        return bad_request(f"invalid JSON body: {exc}")
    if not isinstance(body, dict):
        return bad_request("the body must be a JSON object")
    return body


def _model_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) and model else "fake"


def _wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _complete(body: dict[str, Any], spec: ModelSpec, model: str, number: int) -> Completion:
    """The reply and its accounting; the call's number makes its ids unique and predictable."""
    reply = plan_reply(body, spec, f"call_fake{number}")
    prompt_tokens = count_prompt_tokens(body.get("messages"))
    completion_tokens = len(reply.deltas)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return Completion(
        id=f"chatcmpl-fake{number}",
        created=int(time.time()),
        model=model,
        reply=reply,
        usage=usage,
    )


async def models(request: web.Request) -> web.Response:
    return json_response(
        {
            "object": "list",
            "data": [
                {
                    "id": "fake",
                    "object": "model",
                    "created": _MODELS_CREATED,
                    "owned_by": "saasllm-fake",
                }
            ],
        }
    )


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def stats(request: web.Request) -> web.Response:
    return json_response(request.app[STATS_KEY].as_dict())


async def stats_reset(request: web.Request) -> web.Response:
    counters = request.app[STATS_KEY]
    counters.reset()
    return json_response(counters.as_dict())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/models", models)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)
    app.router.add_post("/stats/reset", stats_reset)
