"""Every operator change is one domain-service call that publishes exactly one change
event, and the gateway's very next request sees the change: the caches learn it from the
event (their lifetimes here are ten minutes, so nothing else could explain it)."""

from __future__ import annotations

import pytest

from saasllm_schema import (
    JobComplete,
    JobCreate,
    KeyCreate,
    KeyRotate,
    ModelGroupSpec,
    TeamUpdate,
)
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import (
    AuthenticationFailed,
    InsufficientCredits,
    ModelGroupNotFound,
    TeamSuspended,
)

from .conftest import ACTOR, Domain


def _bearer(secret: str) -> str:
    return f"Bearer {secret}"


async def _key(domain: Domain, team_id: str) -> tuple[str, str]:
    created = await domain.gw.keys.create(ACTOR, team_id, KeyCreate(name="test"))
    return created.key_id, created.key


async def _signed_in(domain: Domain, team_id: str) -> tuple[str, str, Principal]:
    """A key of the team, already in the key cache."""
    key_id, secret = await _key(domain, team_id)
    return key_id, secret, await domain.gw.auth.authenticate(_bearer(secret))


def _one(domain: Domain, mark: int, kind: ChangeKind, subject: str) -> None:
    assert domain.events.since(mark) == [Change(kind, subject)]


async def test_team_create(domain: Domain) -> None:
    mark = domain.events.mark()
    team_id = await domain.team(credits=3)
    _one(domain, mark, ChangeKind.TEAM, team_id)
    _, secret = await _key(domain, team_id)
    principal = await domain.gw.auth.authenticate(_bearer(secret))
    assert principal.team_id == team_id


async def test_team_update(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    _, secret, before = await _signed_in(domain, team_id)
    assert before.rpm_limit != 7
    mark = domain.events.mark()
    await domain.gw.tenancy.update_team(ACTOR, team_id, TeamUpdate(rpm_limit=7))
    _one(domain, mark, ChangeKind.TEAM, team_id)
    after = await domain.gw.auth.authenticate(_bearer(secret))
    assert after.rpm_limit == 7


async def test_team_suspend_and_resume(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    _, secret, _ = await _signed_in(domain, team_id)
    mark = domain.events.mark()
    await domain.gw.tenancy.suspend(ACTOR, team_id)
    _one(domain, mark, ChangeKind.TEAM, team_id)
    with pytest.raises(TeamSuspended):
        await domain.gw.auth.authenticate(_bearer(secret))
    mark = domain.events.mark()
    await domain.gw.tenancy.resume(ACTOR, team_id)
    _one(domain, mark, ChangeKind.TEAM, team_id)
    assert (await domain.gw.auth.authenticate(_bearer(secret))).team_id == team_id


async def test_team_delete(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    _, secret, _ = await _signed_in(domain, team_id)
    mark = domain.events.mark()
    await domain.gw.tenancy.delete(ACTOR, team_id)
    _one(domain, mark, ChangeKind.TEAM, team_id)
    with pytest.raises(AuthenticationFailed):
        await domain.gw.auth.authenticate(_bearer(secret))


async def test_key_create_revoke(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    mark = domain.events.mark()
    key_id, secret = await _key(domain, team_id)
    _one(domain, mark, ChangeKind.KEY, key_id)
    await domain.gw.auth.authenticate(_bearer(secret))
    mark = domain.events.mark()
    await domain.gw.keys.revoke(ACTOR, key_id)
    _one(domain, mark, ChangeKind.KEY, key_id)
    with pytest.raises(AuthenticationFailed):
        await domain.gw.auth.authenticate(_bearer(secret))
    # Revoking again changes nothing, so it tells nobody.
    mark = domain.events.mark()
    await domain.gw.keys.revoke(ACTOR, key_id)
    assert domain.events.since(mark) == []


async def test_key_rotate(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    old_id, old_secret, _ = await _signed_in(domain, team_id)
    mark = domain.events.mark()
    rotated = await domain.gw.keys.rotate(ACTOR, old_id, KeyRotate(grace_seconds=0))
    _one(domain, mark, ChangeKind.KEY, old_id)
    with pytest.raises(AuthenticationFailed):
        await domain.gw.auth.authenticate(_bearer(old_secret))
    assert (await domain.gw.auth.authenticate(_bearer(rotated.key))).key_id == rotated.key_id


async def _admitted_job(domain: Domain, team_id: str) -> tuple[Principal, str]:
    """A team of 2 credits at 1 per job: one open job, and the team's available credits
    (1) now in the admission cache."""
    _, _, principal = await _signed_in(domain, team_id)
    job = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    await domain.gw.jobs.admit_call(principal, job.job_id)
    return principal, job.job_id


@pytest.mark.parametrize("kind", ["adjustment", "topup", "allocation"])
async def test_credit_moves(domain: Domain, kind: str) -> None:
    team_id = await domain.team(credits=2, credits_per_job=1)
    principal, job_id = await _admitted_job(domain, team_id)
    mark = domain.events.mark()
    await domain.gw.credits.move(
        ACTOR, team_id, kind="adjustment", amount=-2, reason="taken back", key=None
    )
    _one(domain, mark, ChangeKind.BALANCE, team_id)
    with pytest.raises(InsufficientCredits):
        await domain.gw.jobs.admit_call(principal, job_id)
    if kind == "adjustment":
        return
    mark = domain.events.mark()
    await domain.gw.credits.move(ACTOR, team_id, kind=kind, amount=5, reason="more", key=None)
    _one(domain, mark, ChangeKind.BALANCE, team_id)
    await domain.gw.jobs.admit_call(principal, job_id)


async def test_refund(domain: Domain) -> None:
    team_id = await domain.team(credits=3, credits_per_job=1)
    _, _, principal = await _signed_in(domain, team_id)
    first = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    await domain.gw.jobs.complete(principal, first.job_id, JobComplete())
    second = await domain.gw.jobs.create(principal, JobCreate(job_type="t"))
    await domain.gw.credits.move(
        ACTOR, team_id, kind="adjustment", amount=-2, reason="taken back", key=None
    )
    with pytest.raises(InsufficientCredits):
        await domain.gw.jobs.admit_call(principal, second.job_id)
    mark = domain.events.mark()
    await domain.gw.credits.move(
        ACTOR, team_id, kind="job_refund", amount=1, reason="sorry", key=None, job_id=first.job_id
    )
    _one(domain, mark, ChangeKind.BALANCE, team_id)
    await domain.gw.jobs.admit_call(principal, second.job_id)


async def test_model_group_put_and_delete(domain: Domain) -> None:
    team_id = await domain.team(credits=3)
    _, secret, principal = await _signed_in(domain, team_id)
    name = domain.new_id("group")
    with pytest.raises(ModelGroupNotFound):
        domain.gw.catalog.resolve(principal, name)
    mark = domain.events.mark()
    await domain.gw.model_groups.put(ACTOR, ModelGroupSpec(name=name, members=["fake"]))
    _one(domain, mark, ChangeKind.MODEL_GROUPS, name)
    assert domain.gw.catalog.members(name) == ("fake",)
    await domain.gw.tenancy.update_team(ACTOR, team_id, TeamUpdate(model_groups=[name]))
    principal = await domain.gw.auth.authenticate(_bearer(secret))
    assert domain.gw.catalog.resolve(principal, name) == (name, ("fake",))
    mark = domain.events.mark()
    await domain.gw.model_groups.delete(ACTOR, name)
    _one(domain, mark, ChangeKind.MODEL_GROUPS, name)
    assert domain.gw.catalog.members(name) is None
    principal = await domain.gw.auth.authenticate(_bearer(secret))
    assert name not in principal.allowed_groups
