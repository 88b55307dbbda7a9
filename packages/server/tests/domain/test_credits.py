"""Credit moves through the domain service: one entry per Idempotency-Key, refunds bounded
by the job's charge and made once, the floor held."""

from __future__ import annotations

import asyncio

import pytest

from saasllm_schema import JobComplete, JobCreate, KeyCreate
from saasllm_server.errors import AlreadyRefunded, IdempotencyKeyReused, InvalidRequest

from .conftest import ACTOR, Domain


async def test_one_entry_per_idempotency_key(domain: Domain) -> None:
    team_id = await domain.team(credits=0)
    entries = await asyncio.gather(
        *(
            domain.gw.credits.move(
                ACTOR, team_id, kind="topup", amount=5, reason="bought", key="same"
            )
            for _ in range(5)
        )
    )
    assert len({e.id for e in entries}) == 1
    assert (await domain.gw.tenancy.team(team_id)).credits_remaining == 5
    with pytest.raises(IdempotencyKeyReused):
        await domain.gw.credits.move(
            ACTOR, team_id, kind="topup", amount=6, reason="bought", key="same"
        )


async def test_the_floor_holds(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    with pytest.raises(InvalidRequest):
        await domain.gw.credits.move(
            ACTOR, team_id, kind="adjustment", amount=-4, reason="too much", key=None
        )
    assert (await domain.gw.tenancy.team(team_id)).credits_remaining == 3


async def test_refund_once_and_at_most_the_charge(domain: Domain) -> None:
    team_id = await domain.team(credits=5, credits_per_job=2)
    key = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="r"))
    principal = await domain.gw.auth.authenticate(f"Bearer {key.key}")
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    await domain.gw.jobs.complete(principal, job.job_id, JobComplete())
    with pytest.raises(InvalidRequest):
        await domain.gw.credits.move(
            ACTOR, team_id, kind="job_refund", amount=3, reason="x", key=None, job_id=job.job_id
        )
    await domain.gw.credits.move(
        ACTOR, team_id, kind="job_refund", amount=2, reason="x", key=None, job_id=job.job_id
    )
    with pytest.raises(AlreadyRefunded):
        await domain.gw.credits.move(
            ACTOR, team_id, kind="job_refund", amount=1, reason="x", key=None, job_id=job.job_id
        )
    assert (await domain.gw.tenancy.team(team_id)).credits_remaining == 5
