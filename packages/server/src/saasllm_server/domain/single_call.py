"""Jobs of exactly one call, made and completed by the gateway on the caller's behalf
(``create-and-call`` and ``/v1`` requests without a job).

Nobody else knows such a job's id, so nobody else could close it: this service
opens it, makes its call and settles it in every outcome, streamed or not. The
rule for closing them lives here once: the job is completed when the call
delivered an answer to the client, whole or in part (a stream the client walked
away from, or one the upstream broke off after some content); it fails when the
call delivered nothing, or when the upstream broke it off and the operator waives
upstream failures. What that costs is the budget mode's rule for the status
(``billing.job_charge``): under ``per_token`` and ``per_usd`` the served tokens
either way, under ``per_job`` the job's price only when completed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from saasllm_schema import CallStatus, ChatRequest, JobComplete, JobCreate, JobResult, JobStatus
from saasllm_server.domain.calls import CallAnswer, CallService, StreamingCall
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.model_groups import ModelGroupCatalog
from saasllm_server.domain.tenancy import Principal
from saasllm_server.upstreams.streams import StreamStats


@dataclass(frozen=True, slots=True)
class OneCallResult:
    call: CallAnswer
    job: JobResult


def stream_answered(
    status: CallStatus, stats: StreamStats, *, waive_upstream_failures: bool = False
) -> bool:
    """An answer reached the client: the whole stream, or the content relayed (past the
    opening event) before they left or the upstream broke off, unless upstream failures
    are waived."""
    if status == CallStatus.SUCCESS:
        return True
    delivered = stats.data_events > 1
    if status == CallStatus.FAILED:
        return delivered and not waive_upstream_failures
    return delivered


class OneCallJobs:
    def __init__(self, jobs: JobService, calls: CallService, catalog: ModelGroupCatalog) -> None:
        self._jobs = jobs
        self._calls = calls
        self._catalog = catalog

    async def complete(
        self, principal: Principal, request: ChatRequest, job: JobCreate
    ) -> OneCallResult:
        """Open the job, make its call, complete and charge it; a failed call fails it."""
        job_id = await self._open(principal, request, job)
        try:
            answer = await self._calls.complete(principal, job_id, request, counted=True)
        except BaseException:
            await self._settle(principal, job_id, answered=False)
            raise
        result = await self._settle(principal, job_id, answered=True)
        return OneCallResult(answer, result)

    async def open_stream(
        self, principal: Principal, request: ChatRequest, job: JobCreate
    ) -> StreamingCall:
        """Open the job and its stream; the job settles when the stream's call is recorded."""
        job_id = await self._open(principal, request, job)

        waive = self._jobs.waives_upstream_failures

        async def settle(status: CallStatus, stats: StreamStats) -> None:
            answered = stream_answered(status, stats, waive_upstream_failures=waive)
            await self._settle(principal, job_id, answered=answered)

        try:
            return await self._calls.open_stream(
                principal, job_id, request, on_finish=settle, counted=True
            )
        except BaseException:
            await self._settle(principal, job_id, answered=False)
            raise

    async def _open(self, principal: Principal, request: ChatRequest, job: JobCreate) -> str:
        # A request for a group the team may not use (or that does not exist), or over the
        # team's rate, creates no job.
        self._catalog.resolve(principal, request.requested_group)
        await self._calls.count_request(principal)
        created = await self._jobs.create(principal, job)
        return created.job_id

    async def _settle(self, principal: Principal, job_id: str, *, answered: bool) -> JobResult:
        """Never leaves the job open (it would hold credits forever), whatever happens to the
        request meanwhile: a price beyond what the team holds becomes its debt."""
        status = JobStatus.COMPLETED if answered else JobStatus.FAILED
        return await asyncio.shield(
            self._jobs.complete(principal, job_id, JobComplete(status=status))
        )
