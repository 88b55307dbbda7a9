"""Abandoned jobs are settled and their holds freed; jobs with work running are not."""

from __future__ import annotations

import asyncio
import uuid

from saasllm_schema import JobCreate, JobStatus, KeyCreate
from saasllm_schema.jobs import CallStatus
from saasllm_server.domain.sweeper import JobSweeper
from saasllm_server.domain.tenancy import Principal
from saasllm_server.storage.database import utcnow
from saasllm_server.storage.jobs import CallRecord

from .conftest import ACTOR, Domain

IDLE_S = 0.3


async def _principal(domain: Domain, **settings: object) -> Principal:
    team_id = await domain.team(**settings)
    created = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="sweep"))
    return await domain.gw.auth.authenticate(f"Bearer {created.key}")


async def _answered_call(domain: Domain, principal: Principal, job_id: str, tokens: int) -> None:
    domain.gw.jobs.call_started(job_id)
    await domain.gw.jobs.record_call(
        CallRecord(
            id=str(uuid.uuid4()),
            job_id=job_id,
            team_id=principal.team_id,
            model_group="default",
            deployment_id="fake",
            model="fake",
            status=CallStatus.SUCCESS,
            stream=True,
            prompt_tokens=tokens // 2,
            completion_tokens=tokens - tokens // 2,
            cost_usd=0.0,
            latency_ms=1.0,
            ttft_ms=1.0,
            error=None,
            end_user=None,
            created_at=utcnow(),
        )
    )


async def test_an_abandoned_token_job_pays_for_what_it_used(domain: Domain) -> None:
    principal = await _principal(domain, credits=50, budget_mode="per_token", tokens_per_credit=10)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="left"))
    await domain.gw.jobs.hold_for_call(principal, job.job_id, 20)
    await _answered_call(domain, principal, job.job_id, 95)
    sweeper = JobSweeper(domain.gw.engine, domain.gw.jobs, IDLE_S)
    await asyncio.sleep(IDLE_S * 2)
    assert await sweeper.sweep() >= 1
    got = await domain.gw.jobs.get(principal, job.job_id)
    assert got.status == JobStatus.CANCELLED
    assert got.credits_charged == 10
    team = await domain.gw.tenancy.team(principal.team_id)
    assert (team.credits_remaining, team.credits_reserved) == (40, 0)


async def test_an_abandoned_per_job_job_is_free(domain: Domain) -> None:
    principal = await _principal(domain, credits=5, credits_per_job=3)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="left"))
    await asyncio.sleep(IDLE_S * 2)
    await JobSweeper(domain.gw.engine, domain.gw.jobs, IDLE_S).sweep()
    got = await domain.gw.jobs.get(principal, job.job_id)
    assert (got.status, got.credits_charged) == (JobStatus.CANCELLED, 0)
    team = await domain.gw.tenancy.team(principal.team_id)
    assert (team.credits_remaining, team.credits_reserved) == (5, 0)


async def test_a_job_with_a_running_call_is_kept(domain: Domain) -> None:
    principal = await _principal(domain, credits=5, credits_per_job=1)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="busy"))
    domain.gw.jobs.call_started(job.job_id)
    sweeper = JobSweeper(domain.gw.engine, domain.gw.jobs, IDLE_S)
    try:
        for _ in range(6):
            await asyncio.sleep(sweeper.heartbeat_s)
            await sweeper.heartbeat()
            await sweeper.sweep()
        got = await domain.gw.jobs.get(principal, job.job_id)
        assert got.status == JobStatus.PENDING
    finally:
        domain.gw.jobs.call_abandoned(job.job_id)


async def test_a_fresh_job_is_not_touched(domain: Domain) -> None:
    principal = await _principal(domain, credits=5, credits_per_job=1)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="fresh"))
    await JobSweeper(domain.gw.engine, domain.gw.jobs, 60).sweep()
    got = await domain.gw.jobs.get(principal, job.job_id)
    assert got.status == JobStatus.PENDING
