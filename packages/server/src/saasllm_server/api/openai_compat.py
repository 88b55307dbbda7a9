"""OpenAI-compatible endpoints, so the official ``openai`` SDK works with a virtual key.

The job comes from an ``X-Job-Id`` header; without one, each request is a
one-call job that the gateway creates and completes itself (charged under the
team's budget mode when the call produced an answer). Errors keep our one body,
which already has OpenAI's ``error.{message,type,param,code}`` shape.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header

from saasllm_schema import ChatCompletion, ChatRequest, ErrorBody
from saasllm_server.api.deps import GatewayDep, PrincipalDep
from saasllm_server.api.jobs import completion_body
from saasllm_server.api.sse import EventStreamResponse, sse_response
from saasllm_server.domain import single_call
from saasllm_server.domain.jobs import parse_job_id
from saasllm_server.upstreams.streams import StreamStats

router = APIRouter(
    prefix="/v1",
    tags=["openai-compatible"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 413, 422, 429, 502, 504)},
)

JobHeader = Annotated[str | None, Header(alias="X-Job-Id")]
JobTypeHeader = Annotated[str | None, Header(alias="X-Job-Type", min_length=1, max_length=100)]


@router.get("/models")
async def list_models(gw: GatewayDep, principal: PrincipalDep) -> dict[str, Any]:
    """The model groups this key's team may call; a group name is the OpenAI ``model``."""
    names = set(principal.allowed_groups)
    if principal.default_model_group:
        names.add(principal.default_model_group)
    available = sorted(
        n for n in names if principal.may_use(n) and gw.catalog.members(n) is not None
    )
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "saasllm"}
            for name in available
        ],
    }


@router.post(
    "/chat/completions",
    response_model=None,
    responses={200: {"model": ChatCompletion, "content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: ChatRequest,
    gw: GatewayDep,
    principal: PrincipalDep,
    x_job_id: JobHeader = None,
    x_job_type: JobTypeHeader = None,
) -> ChatCompletion | EventStreamResponse:
    owned = x_job_id is None
    if x_job_id is None:
        job_id = await single_call.open_job(gw.jobs, principal, x_job_type or "openai_compat")
    else:
        job_id = parse_job_id(x_job_id)
    if body.stream:
        try:
            call = await gw.calls.open_stream(principal, job_id, body)
        except BaseException:
            if owned:
                await single_call.close_unanswered(gw.jobs, principal, job_id)
            raise
        if owned:

            async def settle(status: str, stats: StreamStats) -> None:
                answered = single_call.stream_answered(status, stats)
                await single_call.close_job(gw.jobs, principal, job_id, answered=answered)

            call.after_finish = settle
        return sse_response(call, gw.settings)
    try:
        context, deployment, answer, call_id = await gw.calls.complete(principal, job_id, body)
    except BaseException:
        if owned:
            await single_call.close_unanswered(gw.jobs, principal, job_id)
        raise
    if owned:
        await single_call.close_job(gw.jobs, principal, job_id, answered=True)
    latency_ms = (time.perf_counter() - context.started) * 1000
    return completion_body(answer, deployment, context.group, call_id, latency_ms)
