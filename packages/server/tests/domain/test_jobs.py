"""The job lifecycle on real databases, through the domain services alone: create holds,
complete charges once, Idempotency-Key replays, and the ledger matches the balance."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from saasllm_schema import JobComplete, JobCreate, KeyCreate
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    JobAlreadyCompleted,
    JobNotFound,
)
from saasllm_server.storage.tables import credit_ledger

from .conftest import ACTOR, Domain


async def _principal(domain: Domain, **settings: object) -> Principal:
    team_id = await domain.team(**settings)
    created = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="jobs"))
    return await domain.gw.auth.authenticate(f"Bearer {created.key}")


async def _ledger_sum(domain: Domain, team_id: str) -> int:
    async with domain.gw.engine.connect() as conn:
        total = await conn.scalar(
            select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
                credit_ledger.c.team_id == team_id
            )
        )
    return int(total or 0)


async def test_create_holds_and_complete_charges_once(domain: Domain) -> None:
    principal = await _principal(domain, credits=10, credits_per_job=3)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    team = await domain.gw.tenancy.team(principal.team_id)
    assert (team.credits_remaining, team.credits_reserved) == (10, 3)
    results = await asyncio.gather(
        *(domain.gw.jobs.complete(principal, job.job_id, JobComplete()) for _ in range(5)),
        return_exceptions=True,
    )
    charged = [r for r in results if not isinstance(r, BaseException)]
    assert len(charged) == 1, results
    assert all(isinstance(r, JobAlreadyCompleted) for r in results if r not in charged)
    assert charged[0].credits_charged == 3
    assert charged[0].credits_remaining == 7
    team = await domain.gw.tenancy.team(principal.team_id)
    assert (team.credits_remaining, team.credits_reserved) == (7, 0)
    assert await _ledger_sum(domain, principal.team_id) == 7


async def test_failed_job_is_free_and_holds_are_released(domain: Domain) -> None:
    principal = await _principal(domain, credits=5, credits_per_job=2)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    result = await domain.gw.jobs.complete(
        principal, job.job_id, JobComplete(status="failed", error_message="upstream down")
    )
    assert (result.credits_charged, result.credits_remaining) == (0, 5)
    team = await domain.gw.tenancy.team(principal.team_id)
    assert team.credits_reserved == 0


async def test_no_credits_no_job(domain: Domain) -> None:
    principal = await _principal(domain, credits=2, credits_per_job=2)
    await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    with pytest.raises(InsufficientCredits):
        await domain.gw.jobs.create(principal, JobCreate(job_type="t"))


async def test_idempotent_create_and_complete(domain: Domain) -> None:
    principal = await _principal(domain, credits=10, credits_per_job=1)
    request = JobCreate(job_type="t")
    first, again = await asyncio.gather(
        domain.gw.jobs.create(principal, request, idempotency_key="k1"),
        domain.gw.jobs.create(principal, request, idempotency_key="k1"),
    )
    assert first.job_id == again.job_id
    with pytest.raises(IdempotencyKeyReused):
        await domain.gw.jobs.create(principal, JobCreate(job_type="other"), idempotency_key="k1")
    done = await domain.gw.jobs.complete(
        principal, first.job_id, JobComplete(), idempotency_key="c"
    )
    replay = await domain.gw.jobs.complete(
        principal, first.job_id, JobComplete(), idempotency_key="c"
    )
    assert replay.credits_charged == done.credits_charged == 1
    team = await domain.gw.tenancy.team(principal.team_id)
    assert (team.credits_remaining, team.credits_reserved) == (9, 0)


async def test_another_teams_job_is_not_found(domain: Domain) -> None:
    owner = await _principal(domain, credits=5)
    stranger = await _principal(domain, credits=5)
    job = await domain.gw.jobs.create(owner, JobCreate(job_type="t"))
    with pytest.raises(JobNotFound):
        await domain.gw.jobs.get(stranger, job.job_id)
    with pytest.raises(JobNotFound):
        await domain.gw.jobs.complete(stranger, job.job_id, JobComplete())
