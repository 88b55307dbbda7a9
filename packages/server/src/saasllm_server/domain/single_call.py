"""Jobs of exactly one call, made and completed by the gateway on the caller's behalf
(``create-and-call`` and ``/v1`` requests without a job).

The rule for charging them lives here once: the job is completed (and charged)
when the call produced an answer for the client, including an answer the client
walked away from; it fails, free, when the upstream failed.
"""

from __future__ import annotations

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
    request = JobComplete(status="completed") if answered else JobComplete(status="failed")
    return await jobs.complete(principal, job_id, request)
