"""The job API: the paths of the system the seed documents, with one error body."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from saasllm_schema import (
    ChatCompletion,
    ChatRequest,
    ErrorBody,
    Job,
    JobComplete,
    JobCreate,
    JobCreated,
    JobResult,
)
from saasllm_server.api.deps import GatewayDep, PrincipalDep
from saasllm_server.api.sse import SSEResponse, sse_response
from saasllm_server.domain.jobs import parse_job_id
from saasllm_server.upstreams.router import Deployment

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Missing, invalid, revoked or expired key",
        403: "Insufficient credits, team suspended or model group not allowed",
        404: "Unknown job (or another team's) or unknown model group",
        409: "Job already completed",
        413: "Request body too large",
        422: "Invalid request",
        429: "Rate limited (see Retry-After)",
        502: "Upstream failed",
        503: "Upstream unavailable",
        504: "Upstream timed out",
    }.items()
}

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=_ERRORS)


@router.post("/create", response_model=JobCreated)
async def create_job(body: JobCreate, gw: GatewayDep, principal: PrincipalDep) -> JobCreated:
    return await gw.jobs.create(principal, body)


@router.get("/{job_id}", response_model=Job)
async def get_job(job_id: str, gw: GatewayDep, principal: PrincipalDep) -> Job:
    return await gw.jobs.get(principal, parse_job_id(job_id))


@router.post("/{job_id}/llm-call", response_model=ChatCompletion)
async def llm_call(
    job_id: str, body: ChatRequest, gw: GatewayDep, principal: PrincipalDep
) -> ChatCompletion:
    context, deployment, answer, call_id = await gw.calls.complete(
        principal, parse_job_id(job_id), body
    )
    latency_ms = (time.perf_counter() - context.started) * 1000
    return completion_body(answer, deployment, context.group, call_id, latency_ms)


@router.post(
    "/{job_id}/llm-call-stream",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE chunks"}},
)
async def llm_call_stream(
    job_id: str, body: ChatRequest, gw: GatewayDep, principal: PrincipalDep
) -> SSEResponse:
    call = await gw.calls.open_stream(principal, parse_job_id(job_id), body)
    return sse_response(call, gw.settings)


@router.post("/{job_id}/complete", response_model=JobResult)
async def complete_job(
    job_id: str, body: JobComplete, gw: GatewayDep, principal: PrincipalDep
) -> JobResult:
    return await gw.jobs.complete(principal, parse_job_id(job_id), body)


def completion_body(
    answer: dict[str, Any],
    deployment: Deployment,
    group: str,
    call_id: str,
    latency_ms: float,
) -> ChatCompletion:
    """The OpenAI shape the upstream sent, plus the documented ``response``/``metadata``."""
    completion = ChatCompletion.model_validate(answer)
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    prompt = usage.prompt_tokens if usage else 0
    output = usage.completion_tokens if usage else 0
    completion.call_id = call_id
    completion.response.content = choice.message.content if choice else ""
    completion.response.finish_reason = choice.finish_reason if choice else None
    completion.response.tool_calls = choice.message.tool_calls if choice else None
    completion.metadata.tokens_used = prompt + output
    completion.metadata.prompt_tokens = prompt
    completion.metadata.completion_tokens = output
    completion.metadata.latency_ms = round(latency_ms, 2)
    completion.metadata.model = deployment.upstream_model
    completion.metadata.model_group = group
    completion.metadata.cost_usd = deployment.cost_usd(prompt, output)
    return completion
