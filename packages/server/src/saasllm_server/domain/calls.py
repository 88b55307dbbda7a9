"""One LLM call end to end: admission, fallback across a group's members before the first
byte, and exactly one accounting write when the call is over.

What a call records (and so what token and dollar pricing charge for it):

* the upstream's own usage figures, when it sent them;
* otherwise, for a call that delivered something (a stream cut by the upstream, a client
  that left, an answer without usage): its prompt counted by litellm's tokenizer (the
  hold's bound when it cannot count) and, for a stream, one completion token per data
  event relayed after the first (OpenAI-wire streams send one token per event, after an
  opening event that announces the role), for an answer, its text counted;
* for a call that delivered nothing (it failed before its first event): nothing.

A stream running longer than the recorder's progress interval also records what it has
used so far, now and then (same rules, status ``running``); its final record replaces it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard, TypeVar

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
from saasllm_server.upstreams.tokens import estimate_prompt_tokens, estimate_text_tokens

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
    call_id: str
    prompt_estimate: int | None = None  # counted once, when the upstream gives no usage


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """A non-streamed call that answered: the upstream's JSON and the recorded call's id."""

    context: CallContext
    deployment: Deployment
    answer: dict[str, Any]
    call_id: str


OnFinish = Callable[[CallStatus, StreamStats], Awaitable[None]]
"""Runs once a stream's call is recorded, with how it ended (one-call jobs settle here)."""


Tokens = tuple[int, int]
"""(prompt tokens, completion tokens) a call is recorded with."""


_MAX_TOKENS_REPORTED = 2**31 - 1  # what a record's token column holds


def _is_count(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and 0 <= value <= _MAX_TOKENS_REPORTED


def _reported(usage: dict[str, Any] | None) -> Tokens | None:
    """The upstream's usage figures, if they are counts a record can hold; figures that are
    not (missing, negative, not numbers, absurd) count as no figures: the call is counted
    as if the upstream had sent none."""
    if usage is None:
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (_is_count(prompt) and _is_count(completion)):
        return None
    return int(prompt), int(completion)


class CallAccounting:
    """The one write of each call, and the router hearing how the call went.

    Shared by the service (calls that fail before any byte, answers in one piece)
    and by each stream it hands out (the record is written when the stream ends;
    its progress, while it runs long).
    """

    def __init__(self, jobs: JobService, router: ModelRouter) -> None:
        self._jobs = jobs
        self._router = router

    def use_router(self, router: ModelRouter) -> None:
        self._router = router

    def tokens(
        self,
        context: CallContext,
        deployment: Deployment,
        usage: dict[str, Any] | None,
        completion_estimate: int | None,
        *,
        final: bool = True,
    ) -> Tokens:
        """What the call served, by the rules in this module's docstring;
        ``completion_estimate`` is None when the call delivered nothing. A progress record
        (not ``final``) takes the prompt's bound: the tokenizer would run on the event loop,
        for a figure the final record nearly always replaces with the upstream's."""
        reported = _reported(usage)
        if reported is not None:
            return reported
        if completion_estimate is None:
            return 0, 0
        if context.prompt_estimate is None and not final:
            return billing.prompt_token_bound(context.request), completion_estimate
        if context.prompt_estimate is None:
            counted = estimate_prompt_tokens(deployment, context.request)
            context.prompt_estimate = (
                counted if counted is not None else billing.prompt_token_bound(context.request)
            )
        return context.prompt_estimate, completion_estimate

    def record_of(
        self,
        context: CallContext,
        deployment: Deployment | None,
        *,
        status: CallStatus,
        tokens: Tokens,
        ttft_ms: float | None,
        error: str | None,
    ) -> CallRecord:
        latency_ms = (time.perf_counter() - context.started) * 1000
        prompt, completion = tokens
        cost = deployment.cost_usd(prompt, completion) if deployment is not None else 0.0
        return CallRecord(
            id=context.call_id,
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

    async def record(
        self,
        context: CallContext,
        deployment: Deployment | None,
        *,
        status: CallStatus,
        tokens: Tokens,
        ttft_ms: float | None,
        error: str | None,
    ) -> str:
        record = self.record_of(
            context, deployment, status=status, tokens=tokens, ttft_ms=ttft_ms, error=error
        )
        await self._jobs.record_call(record)
        if status == CallStatus.SUCCESS and deployment is not None:
            await self._router.report_success(
                deployment,
                sum(tokens),
                context.started_at.replace(tzinfo=None),
                datetime.now(),
            )
        return record.id

    def watch(self, call: StreamingCall) -> None:
        self._jobs.watch_call(call.context.call_id, call.progress)

    def unwatch(self, call: StreamingCall) -> None:
        self._jobs.unwatch_call(call.context.call_id)


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

    async def count_request(self, principal: Principal) -> None:
        """Count one request against the team's requests per minute (429 when it is over):
        each call counts itself, so only a request that makes no call (creating a job) or
        that counts before it makes one (a one-call job, before its job) calls this."""
        await self._limiter.hit(principal.team_id, principal.rpm_limit)

    async def _admit(
        self,
        principal: Principal,
        job_id: str,
        request: ChatRequest,
        stream: bool,
        counted: bool,
    ) -> tuple[CallContext, tuple[str, ...]]:
        started = time.perf_counter()
        group, members = self._catalog.resolve(principal, request.requested_group)
        was_pending = await self._jobs.admit_call(principal, job_id)
        if not counted:
            await self._limiter.hit(principal.team_id, principal.rpm_limit)
        # Running from here: a completion or a sweep closing the job meanwhile waits for this
        # call instead of releasing its hold under it.
        self._jobs.call_started(job_id)
        try:
            if principal.budget_mode != "per_job":
                await self._jobs.hold_for_call(
                    principal, job_id, self._hold(principal, request, members)
                )
        except BaseException:
            self._jobs.call_abandoned(job_id)
            raise
        context = CallContext(
            principal,
            job_id,
            group,
            request,
            stream,
            started,
            utcnow(),
            was_pending,
            call_id=str(uuid.uuid4()),
        )
        return context, members

    def use_router(self, router: ModelRouter) -> None:
        """Model groups gained or lost deployments of their own: later calls pick from these."""
        self._router = router
        self._accounting.use_router(router)

    def _hold(self, principal: Principal, request: ChatRequest, members: tuple[str, ...]) -> int:
        """A call's worst case in credits: a bound of its prompt's tokens plus every token
        it may generate (the limit ``_body`` sends upstream), at the group's dearest
        prices."""
        prompt_tokens = billing.prompt_token_bound(request)
        output = billing.output_limit(request, self._default_max_tokens)
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
            # (A limit the client gave is forwarded as given, and the hold took the larger.)
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
        counted: bool = False,
    ) -> StreamingCall:
        """An admitted stream with its first event in hand. ``on_finish`` runs after the
        call's record is written, however the stream ends. ``counted``: the request was
        counted against the team's rate already."""
        context, members = await self._admit(
            principal, job_id, request, stream=True, counted=counted
        )
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

    async def complete(
        self, principal: Principal, job_id: str, request: ChatRequest, *, counted: bool = False
    ) -> CallAnswer:
        """A non-streamed call; its record is written before the answer is returned."""
        context, members = await self._admit(
            principal, job_id, request, stream=False, counted=counted
        )
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
        tokens = self._accounting.tokens(
            context,
            deployment,
            usage,
            None if _reported(usage) is not None else _answer_tokens(deployment, answer),
        )
        call_id = await self._accounting.record(
            context,
            deployment,
            status=CallStatus.SUCCESS,
            tokens=tokens,
            ttft_ms=None,
            error=None,
        )
        return CallAnswer(context, deployment, answer, call_id)

    async def _record_failure(
        self, context: CallContext, deployment: Deployment | None, failure: UpstreamFailure
    ) -> None:
        # Nothing was delivered: nothing is charged.
        await self._accounting.record(
            context,
            deployment,
            status=CallStatus.FAILED,
            tokens=(0, 0),
            ttft_ms=None,
            error=failure.message,
        )


def _answer_tokens(deployment: Deployment, answer: dict[str, Any]) -> int:
    """An answer without usage figures: its text (and tool calls) counted by litellm's
    tokenizer, or its bytes when it cannot count (never more tokens than bytes)."""
    choices = answer.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices else None
    text = ""
    if isinstance(message, dict):
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if message.get("tool_calls"):
            text += str(message["tool_calls"])
    counted = estimate_text_tokens(deployment, text)
    return counted if counted is not None else len(text.encode("utf-8", "replace"))


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
    runs ``on_finish``. Until then the recorder takes the stream's ``progress`` now and
    then.
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
        self._progress_seen: tuple[int, bool] | None = None
        accounting.watch(self)

    @property
    def ttft_ms(self) -> float | None:
        at = self._stream.stats.first_event_at
        return None if at is None else (at - self.context.started) * 1000

    def _tokens(self, *, final: bool = True) -> Tokens:
        stats = self._stream.stats
        # Every opened stream delivered its first event: its prompt was served.
        return self._accounting.tokens(
            self.context, self.deployment, stats.usage, max(0, stats.data_events - 1), final=final
        )

    def progress(self) -> CallRecord | None:
        """What the stream has served so far, as a ``running`` record; None when nothing
        new arrived since the last one."""
        stats = self._stream.stats
        seen = (stats.data_events, stats.usage is not None)
        if seen == self._progress_seen:
            return None
        self._progress_seen = seen
        return self._accounting.record_of(
            self.context,
            self.deployment,
            status=CallStatus.RUNNING,
            tokens=self._tokens(final=False),
            ttft_ms=self.ttft_ms,
            error=None,
        )

    async def finish(self, status: CallStatus, error: str | None = None) -> None:
        # The record is written by its own task: a client disconnect arriving mid-write
        # cancels the waiter, never the write.
        if self._finishing is None:
            self._finishing = asyncio.ensure_future(self._finish(status, error))
        await asyncio.shield(self._finishing)

    async def _finish(self, status: CallStatus, error: str | None) -> None:
        # No progress record may follow the final one.
        self._accounting.unwatch(self)
        try:
            await self._stream.aclose()
        finally:
            await self._slot.release()
        await self._accounting.record(
            self.context,
            self.deployment,
            status=status,
            tokens=self._tokens(),
            ttft_ms=self.ttft_ms,
            error=error,
        )
        if self._on_finish is not None:
            await self._on_finish(status, self._stream.stats)
