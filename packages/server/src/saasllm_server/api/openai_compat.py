"""OpenAI-compatible endpoints, so the official ``openai`` SDK works with a virtual key.

The job comes from an ``X-Job-Id`` header; without one, each request is a
one-call job that the gateway creates and completes itself (charged under the
team's budget mode when the call produced an answer). Errors keep our one body,
which already has OpenAI's ``error.{message,type,param,code}`` shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from saasllm_schema import ChatCompletion, ChatRequest, ErrorBody, JobCreate, ModelInfo, ModelList
from saasllm_server.api.deps import EventStreamsDep, GatewayDep, OneCallJobsDep, PrincipalDep
from saasllm_server.api.jobs import completion_body
from saasllm_server.api.sse import EventStreamResponse
from saasllm_server.domain.jobs import parse_job_id

router = APIRouter(
    prefix="/v1",
    tags=["openai-compatible"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 413, 422, 429, 502, 504)},
)

JobHeader = Annotated[str | None, Header(alias="X-Job-Id")]
JobTypeHeader = Annotated[str | None, Header(alias="X-Job-Type", min_length=1, max_length=100)]


@router.get("/models")
async def list_models(gw: GatewayDep, principal: PrincipalDep) -> ModelList:
    """The model groups this key's team may call; a group name is the OpenAI ``model``."""
    names = set(principal.allowed_groups)
    if principal.default_model_group:
        names.add(principal.default_model_group)
    available = sorted(
        n for n in names if principal.may_use(n) and gw.catalog.members(n) is not None
    )
    return ModelList(data=[ModelInfo(id=name) for name in available])


@router.post(
    "/chat/completions",
    response_model=None,
    responses={200: {"model": ChatCompletion, "content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: ChatRequest,
    gw: GatewayDep,
    one_call: OneCallJobsDep,
    streams: EventStreamsDep,
    principal: PrincipalDep,
    x_job_id: JobHeader = None,
    x_job_type: JobTypeHeader = None,
) -> ChatCompletion | EventStreamResponse:
    if x_job_id is not None:
        job_id = parse_job_id(x_job_id)
        if body.stream:
            return streams.relay(await gw.calls.open_stream(principal, job_id, body))
        return completion_body(await gw.calls.complete(principal, job_id, body))
    job = JobCreate(job_type=x_job_type or "openai_compat")
    if body.stream:
        return streams.relay(await one_call.open_stream(principal, body, job))
    return completion_body((await one_call.complete(principal, body, job)).call)
