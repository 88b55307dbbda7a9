"""Jobs of exactly one call, made and completed by the gateway on the caller's behalf
(``create-and-call`` and ``/v1`` requests without a job).

Nobody else knows such a job's id, so nobody else could close it: this service
opens it, makes its call and settles it in every outcome, streamed or not. The
rule for charging them lives here once: the job is completed (and charged) when
the call produced an answer for the client, including an answer the client
walked away from; it fails, free, when the upstream failed or the request was
cancelled before an answer.
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


def stream_answered(status: CallStatus, stats: StreamStats) -> bool:
    """An answer reached the client: the whole stream, or a part of it before they left."""
    return status == CallStatus.SUCCESS or (
        status == CallStatus.CANCELLED and stats.data_events > 1
    )


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
            answer = await self._calls.complete(principal, job_id, request)
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

        async def settle(status: CallStatus, stats: StreamStats) -> None:
            await self._settle(principal, job_id, answered=stream_answered(status, stats))

        try:
            return await self._calls.open_stream(principal, job_id, request, on_finish=settle)
        except BaseException:
            await self._settle(principal, job_id, answered=False)
            raise

    async def _open(self, principal: Principal, request: ChatRequest, job: JobCreate) -> str:
        # A request for a group the team may not use (or that does not exist) creates no job.
        self._catalog.resolve(principal, request.requested_group)
        created = await self._jobs.create(principal, job)
        return created.job_id

    async def _settle(self, principal: Principal, job_id: str, *, answered: bool) -> JobResult:
        """Never leaves the job open (it would hold credits forever), whatever happens to the
        request meanwhile: a price the team can no longer pay in full takes what is left."""
        status = JobStatus.COMPLETED if answered else JobStatus.FAILED
        closing = self._jobs.complete(
            principal, job_id, JobComplete(status=status), cap_to_available=True
        )
        return await asyncio.shield(closing)
