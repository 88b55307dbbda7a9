"""Jobs of exactly one call, made and completed by the gateway on the caller's behalf
(``create-and-call`` and ``/v1`` requests without a job).

The rule for charging them lives here once: the job is completed (and charged)
when the call produced an answer for the client, including an answer the client
walked away from; it fails, free, when the upstream failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from saasllm_schema import JobComplete, JobCreate, JobResult
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.tenancy import Principal
from saasllm_server.upstreams.streams import StreamStats


async def open_job(
    jobs: JobService,
    principal: Principal,
    job_type: str,
    *,
    team_id: str | None = None,
    user_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> str:
    created = await jobs.create(
        principal,
        JobCreate(job_type=job_type, team_id=team_id, user_id=user_id, metadata=metadata or {}),
    )
    return created.job_id


def stream_answered(status: str, stats: StreamStats) -> bool:
    return status == "success" or (status == "cancelled" and stats.data_events > 1)


async def close_job(
    jobs: JobService, principal: Principal, job_id: str, *, answered: bool
) -> JobResult:
    """Never leaves the job open (it would hold credits forever: nobody else knows its id):
    a price the team can no longer pay in full takes what is left."""
    request = JobComplete(status="completed") if answered else JobComplete(status="failed")
    return await jobs.complete(principal, job_id, request, cap_to_available=True)


async def close_unanswered(jobs: JobService, principal: Principal, job_id: str) -> None:
    """The call failed, or its request was cancelled: the job fails, free, whatever happens
    to the request meanwhile (a cancelled client must not leave the job holding credits)."""
    await asyncio.shield(close_job(jobs, principal, job_id, answered=False))
