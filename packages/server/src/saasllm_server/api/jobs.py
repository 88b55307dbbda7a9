"""The job API: the paths of the system the seed documents, with one error body."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from saasllm_schema import (
    ChatCompletion,
    ChatRequest,
    CreateAndCallRequest,
    CreateAndCallResult,
    ErrorBody,
    Job,
    JobComplete,
    JobCreate,
    JobCreated,
    JobResult,
)
from saasllm_server.api import lean
from saasllm_server.api.deps import (
    EventStreamsDep,
    GatewayDep,
    OneCallJobsDep,
    PrincipalDep,
    event_streams,
)
from saasllm_server.api.sse import EventStreamResponse
from saasllm_server.domain.calls import CallAnswer
from saasllm_server.domain.jobs import parse_job_id
from saasllm_server.domain.resume import parse_last_event_id

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


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A retry with the same key gets the first request's answer, and changes "
        "nothing more.",
    ),
]


@router.post("/create", response_model=JobCreated)
async def create_job(
    body: JobCreate, gw: GatewayDep, principal: PrincipalDep, key: IdempotencyKey = None
) -> JobCreated:
    """Start a job; it holds its minimum price in credits until it completes. Creating a job
    counts against the team's requests per minute, like a call."""
    await gw.calls.count_request(principal)
    return await gw.jobs.create(principal, body, idempotency_key=key)


@router.post("/create-and-call", response_model=CreateAndCallResult)
async def create_and_call(
    body: CreateAndCallRequest, one_call: OneCallJobsDep, principal: PrincipalDep
) -> CreateAndCallResult:
    """Create a job, make its one call, complete it and charge it, in one request."""
    outcome = await one_call.complete(principal, body, _job_of(body))
    result = outcome.job
    return CreateAndCallResult(
        **completion_body(outcome.call).model_dump(),
        job_id=result.job_id,
        status=result.status,
        completed_at=result.completed_at,
        credits_remaining=result.credits_remaining,
        costs=result.costs,
    )


@router.post(
    "/create-and-call-stream",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE chunks"}},
)
async def create_and_call_stream(
    body: CreateAndCallRequest,
    one_call: OneCallJobsDep,
    streams: EventStreamsDep,
    principal: PrincipalDep,
) -> EventStreamResponse:
    """The streamed twin: the job is completed and charged when the stream ends."""
    return streams.relay(await one_call.open_stream(principal, body, _job_of(body)))


def _job_of(body: CreateAndCallRequest) -> JobCreate:
    return JobCreate(
        job_type=body.job_type,
        team_id=body.team_id,
        user_id=body.user_id,
        metadata=body.job_metadata,
    )


@router.get("/{job_id}", response_model=Job)
async def get_job(job_id: str, gw: GatewayDep, principal: PrincipalDep) -> Job:
    return await gw.jobs.get(principal, parse_job_id(job_id))


@router.post("/{job_id}/llm-call", response_model=ChatCompletion)
async def llm_call(
    job_id: str, body: ChatRequest, gw: GatewayDep, principal: PrincipalDep
) -> ChatCompletion:
    return completion_body(await gw.calls.complete(principal, parse_job_id(job_id), body))


@router.post(
    "/{job_id}/llm-call-stream",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE chunks"}},
    openapi_extra={
        **lean.openapi_body(ChatRequest),
        "parameters": [
            lean.openapi_header(
                "Last-Event-ID",
                "Resume the stream named by this event id, after that event.",
                {"type": "string"},
            ),
            lean.openapi_header(
                "X-Resume-Grace",
                "Seconds the upstream keeps streaming for a client that lost its connection.",
                {"type": "number", "minimum": 0},
            ),
        ],
    },
)
async def llm_call_stream(job_id: str, request: Request) -> EventStreamResponse:
    """Events carry ids ``<stream id>:<n>``. Sending ``Last-Event-ID`` back resumes that
    stream after event n (no new upstream call, no new charge); ``X-Resume-Grace: s``
    keeps the upstream streaming for s seconds after a lost connection."""
    gw, principal = await lean.authenticated(request)
    streams = await event_streams(request)
    job_id = parse_job_id(job_id)
    last_event_id = request.headers.get("last-event-id")
    if last_event_id:
        stream_id, after = parse_last_event_id(last_event_id)
        return streams.resume(gw.resume.find(stream_id, principal.team_id, job_id), after)
    resume_grace = lean.float_header(request, "X-Resume-Grace")
    body = await lean.body_as(request, ChatRequest)
    call = await gw.calls.open_stream(principal, job_id, body)
    log = gw.resume.open(str(uuid.uuid4()), principal.team_id, job_id)
    grace = min(resume_grace or 0.0, gw.settings.resume_max_grace_s)
    return streams.relay_logged(call, log, grace)


@router.delete("/{job_id}/streams/{stream_id}", status_code=204)
async def cancel_stream(
    job_id: str,
    stream_id: str,
    gw: GatewayDep,
    streams: EventStreamsDep,
    principal: PrincipalDep,
) -> Response:
    """Stop a stream's upstream now (a client that is done with it, e.g. after a break)."""
    log = gw.resume.find(stream_id, principal.team_id, parse_job_id(job_id))
    if not log.done:
        streams.cancel(log.stream_id)
    return Response(status_code=204)


@router.post("/{job_id}/complete", response_model=JobResult)
async def complete_job(
    job_id: str,
    body: JobComplete,
    gw: GatewayDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JobResult:
    """Close the job; ``completed`` charges its price exactly once and releases its holds."""
    return await gw.jobs.complete(principal, parse_job_id(job_id), body, idempotency_key=key)


def completion_body(call: CallAnswer) -> ChatCompletion:
    """The OpenAI shape the upstream sent, plus the documented ``response``/``metadata``."""
    completion = ChatCompletion.model_validate(call.answer)
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    prompt = usage.prompt_tokens if usage else 0
    output = usage.completion_tokens if usage else 0
    latency_ms = (time.perf_counter() - call.context.started) * 1000
    completion.call_id = call.call_id
    completion.response.content = choice.message.content if choice else ""
    completion.response.finish_reason = choice.finish_reason if choice else None
    completion.response.tool_calls = choice.message.tool_calls if choice else None
    completion.metadata.tokens_used = prompt + output
    completion.metadata.prompt_tokens = prompt
    completion.metadata.completion_tokens = output
    completion.metadata.latency_ms = round(latency_ms, 2)
    completion.metadata.model = call.deployment.upstream_model
    completion.metadata.model_group = call.context.group
    completion.metadata.cost_usd = call.deployment.cost_usd(prompt, output)
    return completion
