"""One LLM call end to end: admission, fallback across a group's members before the first
byte, and exactly one accounting write when the call is over.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson

from saasllm_schema import CallStatus, ChatRequest
from saasllm_server.domain import billing
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.model_groups import ModelGroupCatalog
from saasllm_server.domain.ratelimit import RateLimiter, StreamSlot
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import (
    GatewayError,
    InvalidRequest,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from saasllm_server.storage.database import utcnow
from saasllm_server.storage.jobs import CallRecord
from saasllm_server.upstreams.litellm_path import LitellmPath
from saasllm_server.upstreams.relay import RawRelay
from saasllm_server.upstreams.router import (
    AllDeploymentsCooling,
    Deployment,
    ModelRouter,
    UnknownDeployment,
)
from saasllm_server.upstreams.streams import StreamStats, UpstreamFailure, UpstreamStream
from saasllm_server.upstreams.tokens import estimate_prompt_tokens

_T = TypeVar("_T")


def client_error(failure: UpstreamFailure) -> GatewayError:
    """How an upstream failure reads to our client.

    Never the provider's 401/404 (ours to fix), and never our internals (deployment
    ids, addresses, driver errors): those stay in the call's record. A provider's own
    explanation of a bad request is passed on, since it is about the client's input.
    """
    status = failure.status
    if status == 429:
        return UpstreamRateLimited(
            "the model provider is rate limiting this model; retry later",
            retry_after=failure.retry_after or 1.0,
        )
    if status in (400, 413, 422):
        return InvalidRequest(failure.message)
    if status in (408, 504):
        return UpstreamTimeout("the model provider did not answer in time")
    if status == 503:
        return UpstreamUnavailable(
            "the model provider is unavailable", retry_after=failure.retry_after
        )
    return UpstreamFailed(f"the model provider failed (upstream status {status})")


@dataclass(slots=True)
class CallContext:
    principal: Principal
    job_id: str
    group: str
    request: ChatRequest
    stream: bool
    started: float
    started_at: datetime
    job_was_pending: bool


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """A non-streamed call that answered: the upstream's JSON and the recorded call's id."""

    context: CallContext
    deployment: Deployment
    answer: dict[str, Any]
    call_id: str


OnFinish = Callable[[CallStatus, StreamStats], Awaitable[None]]
"""Runs once a stream's call is recorded, with how it ended (one-call jobs settle here)."""


class CallAccounting:
    """The one write of each call, and the router hearing how the call went.

    Shared by the service (calls that fail before any byte, answers in one piece)
    and by each stream it hands out (the record is written when the stream ends).
    """

    def __init__(self, jobs: JobService, router: ModelRouter) -> None:
        self._jobs = jobs
        self._router = router

    def use_router(self, router: ModelRouter) -> None:
        self._router = router

    async def record(
        self,
        context: CallContext,
        deployment: Deployment | None,
        *,
        status: CallStatus,
        usage: dict[str, Any] | None,
        completion_events: int,
        ttft_ms: float | None,
        error: str | None,
    ) -> str:
        latency_ms = (time.perf_counter() - context.started) * 1000
        if usage is not None:
            prompt = int(usage.get("prompt_tokens") or 0)
            completion = int(usage.get("completion_tokens") or 0)
        else:
            # No usage from the upstream (a cut stream, an old server): count it ourselves.
            prompt = (
                estimate_prompt_tokens(deployment, context.request) if deployment is not None else 0
            )
            completion = completion_events
        cost = deployment.cost_usd(prompt, completion) if deployment is not None else 0.0
        call_id = str(uuid.uuid4())
        record = CallRecord(
            id=call_id,
            job_id=context.job_id,
            team_id=context.principal.team_id,
            model_group=context.group,
            deployment_id=deployment.id if deployment else "",
            model=deployment.litellm_model if deployment else "",
            status=status,
            stream=context.stream,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            latency_ms=round(latency_ms, 3),
            ttft_ms=None if ttft_ms is None else round(ttft_ms, 3),
            error=error,
            end_user=context.request.user,
            created_at=context.started_at,
            job_was_pending=context.job_was_pending,
        )
        await self._jobs.record_call(record)
        if status == CallStatus.SUCCESS and deployment is not None:
            await self._router.report_success(
                deployment,
                prompt + completion,
                context.started_at.replace(tzinfo=None),
                datetime.now(),
            )
        return call_id


class CallService:
    def __init__(
        self,
        *,
        jobs: JobService,
        catalog: ModelGroupCatalog,
        router: ModelRouter,
        relay: RawRelay,
        litellm_path: LitellmPath,
        limiter: RateLimiter,
        first_chunk_timeout_s: float,
        default_max_tokens: int = 1024,
    ) -> None:
        self._default_max_tokens = default_max_tokens
        self._jobs = jobs
        self._catalog = catalog
        self._router = router
        self._relay = relay
        self._litellm = litellm_path
        self._limiter = limiter
        self._first_chunk_timeout_s = first_chunk_timeout_s
        self._accounting = CallAccounting(jobs, router)

    async def _admit(
        self, principal: Principal, job_id: str, request: ChatRequest, stream: bool
    ) -> tuple[CallContext, tuple[str, ...]]:
        started = time.perf_counter()
        group, members = self._catalog.resolve(principal, request.requested_group)
        was_pending = await self._jobs.admit_call(principal, job_id)
        await self._limiter.hit(principal.team_id, principal.rpm_limit)
        if principal.budget_mode != "per_job":
            await self._jobs.hold_for_call(
                principal, job_id, self._hold(principal, request, members)
            )
        context = CallContext(
            principal, job_id, group, request, stream, started, utcnow(), was_pending
        )
        return context, members

    def use_router(self, router: ModelRouter) -> None:
        """Model groups gained or lost deployments of their own: later calls pick from these."""
        self._router = router
        self._accounting.use_router(router)

    def _hold(self, principal: Principal, request: ChatRequest, members: tuple[str, ...]) -> int:
        """A call's worst case in credits: its prompt (about three bytes of JSON per token,
        on the generous side) plus every token it may generate, at the group's dearest
        prices."""
        prompt = len(orjson.dumps([m.model_dump(exclude_none=True) for m in request.messages]))
        prompt_tokens = prompt // 3 + 1
        output = request.max_tokens or request.max_completion_tokens or self._default_max_tokens
        cost: float | None = None
        if principal.budget_mode == "per_usd":
            priced = [d for d in self._router.deployments() if d.member in members and d.priced]
            if priced:
                cost = max(d.cost_usd(prompt_tokens, output) for d in priced)
        return billing.call_hold(principal, prompt_tokens, output, cost)

    def _body(self, context: CallContext, stream: bool) -> dict[str, Any]:
        request = context.request
        body: dict[str, Any] = {
            "messages": [m.model_dump(exclude_none=True) for m in request.messages],
            **request.upstream_params(),
        }
        if (
            context.principal.budget_mode != "per_job"
            and request.max_tokens is None
            and request.max_completion_tokens is None
        ):
            # The call's hold assumed this many output tokens: make it the bound it claims.
            body["max_tokens"] = self._default_max_tokens
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def _candidates(
        self, members: tuple[str, ...], messages: list[dict[str, Any]]
    ) -> AsyncIterator[Deployment | UpstreamFailure]:
        """Members in order; a member whose deployments all cool down yields a failure."""
        for member in members:
            try:
                yield await self._router.select(member, messages)
            except AllDeploymentsCooling as exc:
                yield UpstreamFailure(429, str(exc), retry_after=exc.retry_after)
            except UnknownDeployment:
                yield UpstreamFailure(502, f"model group member {member!r} has no deployment")

    async def open_stream(
        self,
        principal: Principal,
        job_id: str,
        request: ChatRequest,
        *,
        on_finish: OnFinish | None = None,
    ) -> StreamingCall:
        """An admitted stream with its first event in hand. ``on_finish`` runs after the
        call's record is written, however the stream ends."""
        context, members = await self._admit(principal, job_id, request, stream=True)
        self._jobs.call_started(job_id)
        try:
            slot = await self._limiter.open_stream(
                principal.team_id, principal.max_concurrent_streams
            )
        except BaseException:
            self._jobs.call_abandoned(job_id)
            raise
        try:
            return await self._open_first(context, members, slot, on_finish)
        except GatewayError:
            await slot.release()  # the failure was recorded
            raise
        except BaseException:
            await slot.release()
            self._jobs.call_abandoned(job_id)
            raise

    async def _first_that_answers(
        self,
        context: CallContext,
        members: tuple[str, ...],
        messages: list[dict[str, Any]],
        attempt: Callable[[Deployment], Awaitable[_T]],
    ) -> tuple[Deployment, _T]:
        """Try the group's members in order until one answers; fallback happens here, before
        the client has seen a byte. Every failure feeds the router's cooldowns; a failure no
        other deployment would fix (a bad request) ends the search."""
        last: UpstreamFailure | None = None
        last_deployment: Deployment | None = None
        async for candidate in self._candidates(members, messages):
            if isinstance(candidate, UpstreamFailure):
                last = candidate
                continue
            last_deployment = candidate
            attempt_at = datetime.now()
            try:
                return candidate, await attempt(candidate)
            except UpstreamFailure as failure:
                self._router.report_failure(
                    candidate, failure.status, failure.message, failure.headers, attempt_at
                )
                last = failure
                if not failure.retryable:
                    break
        final = last or UpstreamFailure(502, "model group has no members")
        await self._record_failure(context, last_deployment, final)
        raise client_error(final)

    def _path(self, deployment: Deployment) -> RawRelay | LitellmPath:
        return self._relay if deployment.mode == "raw" else self._litellm

    async def _open_first(
        self,
        context: CallContext,
        members: tuple[str, ...],
        slot: StreamSlot,
        on_finish: OnFinish | None,
    ) -> StreamingCall:
        body = self._body(context, stream=True)
        forward_usage = bool(
            context.request.stream_options and context.request.stream_options.include_usage
        )

        async def attempt(
            deployment: Deployment,
        ) -> tuple[UpstreamStream, AsyncIterator[list[bytes]], list[bytes]]:
            stream: UpstreamStream | None = None
            try:
                # Headers and the first event share one bound: admission ends here.
                async with asyncio.timeout(self._first_chunk_timeout_s):
                    stream = await self._path(deployment).open_stream(
                        deployment,
                        {**body, "model": deployment.upstream_model},
                        forward_usage=forward_usage,
                    )
                    events = stream.events()
                    return stream, events, await anext(events)
            except (UpstreamFailure, TimeoutError, StopAsyncIteration) as exc:
                if stream is not None:
                    await stream.aclose()
                if isinstance(exc, UpstreamFailure):
                    raise
                raise _as_failure(deployment, exc) from exc

        deployment, (stream, events, first) = await self._first_that_answers(
            context, members, body["messages"], attempt
        )
        return StreamingCall(
            self._accounting, context, deployment, stream, events, first, slot, on_finish
        )

    async def complete(self, principal: Principal, job_id: str, request: ChatRequest) -> CallAnswer:
        """A non-streamed call; its record is written before the answer is returned."""
        context, members = await self._admit(principal, job_id, request, stream=False)
        self._jobs.call_started(job_id)
        try:
            return await self._complete(context, members)
        except GatewayError:
            raise  # the failure was recorded
        except BaseException:
            self._jobs.call_abandoned(job_id)
            raise

    async def _complete(self, context: CallContext, members: tuple[str, ...]) -> CallAnswer:
        body = self._body(context, stream=False)

        async def attempt(deployment: Deployment) -> dict[str, Any]:
            return await self._path(deployment).complete(
                deployment, {**body, "model": deployment.upstream_model}
            )

        deployment, answer = await self._first_that_answers(
            context, members, body["messages"], attempt
        )
        usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else None
        call_id = await self._accounting.record(
            context,
            deployment,
            status=CallStatus.SUCCESS,
            usage=usage,
            completion_events=1,
            ttft_ms=None,
            error=None,
        )
        return CallAnswer(context, deployment, answer, call_id)

    async def _record_failure(
        self, context: CallContext, deployment: Deployment | None, failure: UpstreamFailure
    ) -> None:
        await self._accounting.record(
            context,
            deployment,
            status=CallStatus.FAILED,
            usage=None,
            completion_events=0,
            ttft_ms=None,
            error=failure.message,
        )


def _as_failure(deployment: Deployment, exc: BaseException) -> UpstreamFailure:
    if isinstance(exc, UpstreamFailure):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(504, f"upstream {deployment.id} sent nothing in time")
    return UpstreamFailure(502, f"upstream {deployment.id} ended before its first chunk")


class StreamingCall:
    """An admitted stream whose first event is in hand; the response relays the rest.

    ``finish`` is idempotent and always runs (success, upstream error, client gone):
    it closes the upstream, frees the concurrency slot, writes the one record, then
    runs ``on_finish``.
    """

    def __init__(
        self,
        accounting: CallAccounting,
        context: CallContext,
        deployment: Deployment,
        stream: UpstreamStream,
        events: AsyncIterator[list[bytes]],
        first: list[bytes],
        slot: StreamSlot,
        on_finish: OnFinish | None = None,
    ) -> None:
        self._accounting = accounting
        self.context = context
        self.deployment = deployment
        self._stream = stream
        self.events = events
        self.first = first
        self._slot = slot
        self._on_finish = on_finish
        self._finishing: asyncio.Future[None] | None = None

    @property
    def ttft_ms(self) -> float | None:
        at = self._stream.stats.first_event_at
        return None if at is None else (at - self.context.started) * 1000

    async def finish(self, status: CallStatus, error: str | None = None) -> None:
        # The record is written by its own task: a client disconnect arriving mid-write
        # cancels the waiter, never the write.
        if self._finishing is None:
            self._finishing = asyncio.ensure_future(self._finish(status, error))
        await asyncio.shield(self._finishing)

    async def _finish(self, status: CallStatus, error: str | None) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._slot.release()
        stats = self._stream.stats
        await self._accounting.record(
            self.context,
            self.deployment,
            status=status,
            usage=stats.usage,
            completion_events=max(0, stats.data_events - 1),
            ttft_ms=self.ttft_ms,
            error=error,
        )
        if self._on_finish is not None:
            await self._on_finish(status, stats)
