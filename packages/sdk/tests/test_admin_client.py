"""Both admin clients against a real gateway: tenancy, keys, credits, reports, typed errors.

Every exchange is over a real socket to the session's SQLite gateway process; each
test makes its own organization or teams, so tests never share a balance.
"""

from __future__ import annotations

import inspect
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import ValidationError

from packages.sdk.tests.sdk_testkit import (
    MESSAGES,
    AdminClient,
    ClientFactory,
    FlakyProxy,
    LateListener,
    Recorder,
    resolve,
)
from saasllm import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SaaSLLMAdmin,
    SaaSLLMClient,
    ServiceUnavailableError,
    SyncSaaSLLMAdmin,
    TeamSuspendedError,
    UnprocessableEntityError,
)
from saasllm_schema import (
    AdminKeyCreated,
    JobStatus,
    KeyCreated,
    LedgerEntry,
    Organization,
    Page,
    Team,
    UsageReport,
)
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin, TeamHandle

T = TypeVar("T")
MakeAdmin = Callable[..., AdminClient]


@pytest.fixture
def make_admin(make_client: ClientFactory) -> MakeAdmin:
    """Admin clients of the parametrized kind whose requests the ``recorder`` sees."""
    return make_client.admin


@pytest.fixture
def ops(make_admin: MakeAdmin, sqlite_gateway: GatewayProcess) -> AdminClient:
    """An admin client of the parametrized kind with the operator's key."""
    return make_admin(sqlite_gateway.url)


@pytest.fixture
async def org(ops: AdminClient) -> Organization:
    """A fresh organization, so listings filtered by it hold only this test's teams."""
    created: Organization = await resolve(ops.create_organization(_id("org"), "Test org"))
    return created


def _id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def drain(items: AsyncIterator[T] | Iterator[T]) -> list[T]:
    if isinstance(items, AsyncIterator):
        return [item async for item in items]
    return list(items)


async def create_job(base_url: str, key: str, team_id: str) -> str:
    """``POST /api/jobs/create`` with ``key`` through the job SDK: proof that a key works."""
    async with SaaSLLMClient(base_url, team_id, key, max_retries=0) as client:
        return await client.create_job("probe")


# --- organizations and teams --------------------------------------------------------


async def test_organizations(ops: AdminClient, recorder: Recorder) -> None:
    org_id = _id("org")
    created = await resolve(ops.create_organization(org_id, "Acme"))
    assert isinstance(created, Organization)
    assert (created.id, created.name) == (org_id, "Acme")
    assert recorder.requests[-1].method == "POST"
    assert recorder.body() == {"id": org_id, "name": "Acme"}
    assert await resolve(ops.get_organization(org_id)) == created
    assert org_id in [o.id for o in await resolve(ops.list_organizations())]
    # No name: the gateway uses the id.
    bare = await resolve(ops.create_organization(_id("org")))
    assert bare.name == bare.id
    with pytest.raises(ConflictError) as caught:
        await resolve(ops.create_organization(org_id))
    assert caught.value.error_code == "already_exists"
    with pytest.raises(NotFoundError):
        await resolve(ops.get_organization(_id("missing")))


async def test_team_lifecycle(ops: AdminClient, recorder: Recorder, org: Organization) -> None:
    team_id = _id("team")
    team = await resolve(
        ops.create_team(
            team_id,
            org.id,
            name="Prod",
            credits=50,
            default_model_group="default",
            model_groups=["priced"],
            low_balance_threshold=60,
            rpm_limit=100,
        )
    )
    assert isinstance(team, Team)
    assert recorder.requests[-1].url.path == "/admin/teams"
    sent = recorder.body()
    assert sent["id"] == team_id
    assert sent["organization_id"] == org.id
    assert sent["model_groups"] == ["priced"]
    assert sent["budget_mode"] == "per_job"
    assert (team.name, team.status, team.credits_remaining) == ("Prod", "active", 50)
    assert team.model_groups == ["default", "priced"]
    assert team.low_balance is True
    assert team.rpm_limit == 100

    assert await resolve(ops.get_team(team_id)) == team
    listed = await resolve(ops.list_teams(organization_id=org.id))
    assert [t.id for t in listed] == [team_id]
    assert recorder.requests[-1].url.params == httpx.QueryParams({"organization_id": org.id})
    low = await resolve(ops.list_teams(organization_id=org.id, low_balance=True))
    assert [t.id for t in low] == [team_id]
    assert recorder.requests[-1].url.params["low_balance"] == "true"
    assert await resolve(ops.list_teams(organization_id=org.id, low_balance=False)) == []

    # Only the fields named are sent, so the others keep their values.
    updated = await resolve(ops.update_team(team_id, name="Production", rpm_limit=None))
    assert recorder.requests[-1].method == "PATCH"
    assert recorder.body() == {"name": "Production", "rpm_limit": None}
    assert updated.name == "Production"
    assert updated.rpm_limit is None
    assert updated.low_balance_threshold == 60
    assert updated.model_groups == ["default", "priced"]

    # A field TeamUpdate does not have never reaches the gateway.
    sent_before = len(recorder.requests)
    with pytest.raises(ValidationError):
        await resolve(ops.update_team(team_id, credits=5))
    assert len(recorder.requests) == sent_before

    assert (await resolve(ops.suspend_team(team_id))).status == "suspended"
    assert (await resolve(ops.resume_team(team_id))).status == "active"

    assert await resolve(ops.delete_team(team_id)) is None
    assert recorder.requests[-1].method == "DELETE"
    with pytest.raises(NotFoundError):
        await resolve(ops.get_team(team_id))
    assert await resolve(ops.list_teams(organization_id=org.id)) == []
    deleted = await resolve(ops.list_teams(organization_id=org.id, include_deleted=True))
    assert [t.id for t in deleted] == [team_id]
    assert deleted[0].deleted_at is not None
    assert recorder.requests[-1].url.params["include_deleted"] == "true"


async def test_suspended_team_is_refused(
    ops: AdminClient, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    await resolve(ops.suspend_team(team.team_id))
    with pytest.raises(TeamSuspendedError):
        await create_job(sqlite_gateway.url, team.key, team.team_id)
    await resolve(ops.resume_team(team.team_id))
    assert await create_job(sqlite_gateway.url, team.key, team.team_id)


# --- keys ------------------------------------------------------------------------------


async def test_keys_create_list_rotate_revoke(
    ops: AdminClient, recorder: Recorder, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    url = sqlite_gateway.url
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    made = await resolve(
        ops.create_key(team.team_id, name="backend", expires_at=expires, model_groups=["default"])
    )
    assert isinstance(made, KeyCreated)
    assert recorder.body() == {
        "name": "backend",
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "model_groups": ["default"],
    }
    assert (made.team_id, made.name, made.status) == (team.team_id, "backend", "expiring")
    assert made.expires_at == expires
    assert made.key.startswith(made.prefix)
    assert await create_job(url, made.key, team.team_id)

    listed = await resolve(ops.list_keys(team.team_id))
    assert {k.key_id for k in listed} == {team.key_id, made.key_id}
    assert all("key" not in k for k in recorder.responses[-1].json())  # never a secret
    info = await resolve(ops.get_key(made.key_id))
    assert info.model_groups == ["default"]

    renamed = await resolve(ops.update_key(made.key_id, name="api", expires_at=None))
    assert recorder.body() == {"name": "api", "expires_at": None}
    assert (renamed.name, renamed.status, renamed.expires_at) == ("api", "active", None)

    # Rotation without grace: the old key stops at once, the new one works.
    rotated = await resolve(ops.rotate_key(made.key_id, grace_seconds=0))
    assert isinstance(rotated, KeyCreated)
    assert recorder.requests[-1].url.path == f"/admin/keys/{made.key_id}/rotate"
    assert (rotated.name, rotated.model_groups) == ("api", ["default"])
    old = await resolve(ops.get_key(made.key_id))
    assert (old.status, old.replaced_by) == ("expired", rotated.key_id)
    with pytest.raises(AuthenticationError):
        await create_job(url, made.key, team.team_id)
    assert await create_job(url, rotated.key, team.team_id)

    # A grace keeps the old key working; a new name can be given.
    second = await resolve(ops.rotate_key(rotated.key_id, grace_seconds=600, name="api-2"))
    assert second.name == "api-2"
    assert (await resolve(ops.get_key(rotated.key_id))).status == "expiring"
    assert await create_job(url, rotated.key, team.team_id)

    revoked = await resolve(ops.revoke_key(second.key_id))
    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError) as caught:
        await create_job(url, second.key, team.team_id)
    assert caught.value.status_code == 401
    # A revoked key can be neither rotated nor changed.
    with pytest.raises(ConflictError):
        await resolve(ops.rotate_key(second.key_id))
    with pytest.raises(NotFoundError):
        await resolve(ops.get_key("key_missing"))


async def test_key_expiry_needs_a_time_zone(ops: AdminClient, recorder: Recorder) -> None:
    with pytest.raises(ValidationError, match="time zone"):
        await resolve(ops.create_key("any-team", expires_at=datetime(2030, 1, 1)))
    assert recorder.requests == []


# --- credits -----------------------------------------------------------------------------


async def test_top_up_with_an_idempotency_key_applies_once(
    ops: AdminClient, recorder: Recorder, admin: Admin, team: TeamHandle
) -> None:
    key = f"invoice-{secrets.token_hex(4)}"
    first = await resolve(ops.top_up(team.team_id, 25, reason="invoice", idempotency_key=key))
    assert isinstance(first, LedgerEntry)
    assert recorder.requests[-1].headers["idempotency-key"] == key
    assert recorder.requests[-1].url.path == f"/admin/teams/{team.team_id}/credits/topup"
    assert recorder.body() == {"amount": 25, "reason": "invoice"}
    assert (first.kind, first.amount, first.balance_before, first.balance_after) == (
        "topup",
        25,
        100,
        125,
    )
    assert first.idempotency_key == key
    assert first.actor == "admin:env"

    again = await resolve(ops.top_up(team.team_id, 25, reason="invoice", idempotency_key=key))
    assert again == first
    assert admin.balance(team.team_id) == 125
    entries = (await resolve(ops.ledger(team.team_id))).data
    assert [e.kind for e in entries] == ["topup", "grant"]

    # The same key for a different change is refused, not applied.
    with pytest.raises(ConflictError) as caught:
        await resolve(ops.top_up(team.team_id, 30, idempotency_key=key))
    assert caught.value.error_code == "idempotency_key_reused"
    assert admin.balance(team.team_id) == 125


async def test_every_credit_move_gets_its_own_generated_key(
    ops: AdminClient, recorder: Recorder, team: TeamHandle
) -> None:
    await resolve(ops.top_up(team.team_id, 1))
    await resolve(ops.top_up(team.team_id, 1))
    keys = [r.headers["idempotency-key"] for r in recorder.requests]
    assert len(set(keys)) == 2
    assert all(len(k) == 36 for k in keys)  # uuid4
    entries = (await resolve(ops.ledger(team.team_id, limit=2))).data
    assert [e.idempotency_key for e in entries] == keys[::-1]


async def test_allocate_adjust_and_refund(
    ops: AdminClient, recorder: Recorder, admin: Admin, team: TeamHandle
) -> None:
    allocated = await resolve(ops.allocate_credits(team.team_id, 40, reason="plan"))
    assert (allocated.kind, allocated.balance_after) == ("allocation", 140)
    assert recorder.requests[-1].url.path.endswith("/credits/allocate")

    adjusted = await resolve(ops.adjust_credits(team.team_id, -15, reason="double grant"))
    assert (adjusted.kind, adjusted.amount, adjusted.balance_after) == ("adjustment", -15, 125)
    assert recorder.body() == {"amount": -15, "reason": "double grant"}

    refunded = await resolve(ops.refund(team.team_id, 5, reason="goodwill"))
    assert (refunded.kind, refunded.balance_after, refunded.job_id) == ("refund", 130, None)
    assert admin.balance(team.team_id) == 130

    # Checked against the schema before sending: no reason, a zero, a negative grant.
    sent_before = len(recorder.requests)
    with pytest.raises(ValidationError):
        await resolve(ops.adjust_credits(team.team_id, -1, reason=""))
    with pytest.raises(ValidationError):
        await resolve(ops.adjust_credits(team.team_id, 0, reason="nothing"))
    with pytest.raises(ValidationError):
        await resolve(ops.top_up(team.team_id, -5))
    assert len(recorder.requests) == sent_before

    # Below zero (no overdraft) is the gateway's call.
    with pytest.raises(UnprocessableEntityError) as caught:
        await resolve(ops.adjust_credits(team.team_id, -1000, reason="too much"))
    assert caught.value.param == "amount"
    with pytest.raises(NotFoundError):
        await resolve(ops.top_up(_id("missing"), 5))


async def test_a_lost_credit_answer_is_resent_and_applied_once(
    make_admin: MakeAdmin, recorder: Recorder, sqlite_gateway: GatewayProcess, admin: Admin
) -> None:
    """The top-up reaches the gateway and its answer is lost; the resend, with the same
    generated key, gets the entry the first attempt made."""
    team = admin.team(credits=10)
    proxy = FlakyProxy(sqlite_gateway.url)
    try:
        client = make_admin(proxy.url)
        proxy.fail("drop")
        entry = await resolve(client.top_up(team.team_id, 7, reason="retried"))
        assert recorder.retry_counts() == ["0", "1"]
        keys = {r.headers["idempotency-key"] for r in recorder.requests}
        assert keys == {entry.idempotency_key}
        assert admin.balance(team.team_id) == 17
        assert [e.amount for e in (await resolve(client.ledger(team.team_id))).data] == [7, 10]
    finally:
        proxy.close()


async def test_only_what_is_safe_to_repeat_is_resent(
    make_admin: MakeAdmin, recorder: Recorder, sqlite_gateway: GatewayProcess, org: Organization
) -> None:
    """Each endpoint declares whether a repeat is harmless (``saasllm._endpoints``).

    A request that never left is always resent. A change without an
    Idempotency-Key that may have reached the gateway (a 503 from a proxy, an
    answer lost on the way back) goes out once; reads, PUT, DELETE and credit
    moves go out again.
    """
    closed = LateListener(sqlite_gateway.url)  # bound, never listening: refused
    try:
        never_sent = make_admin(closed.url, max_retries=1)
        recorder.clear()
        with pytest.raises(APIConnectionError) as refused:
            await resolve(never_sent.create_team(_id("team"), org.id))
        assert isinstance(refused.value.__cause__, httpx.ConnectError)
        assert recorder.retry_counts() == ["0", "1"]
    finally:
        closed.close()

    proxy = FlakyProxy(sqlite_gateway.url)
    try:
        client = make_admin(proxy.url, max_retries=1)
        team_id = _id("team")
        recorder.clear()
        proxy.fail("drop")
        with pytest.raises(APIConnectionError) as lost:
            await resolve(client.create_team(team_id, org.id))
        assert isinstance(lost.value.__cause__, httpx.RemoteProtocolError)
        assert recorder.retry_counts() == ["0"]
        # It had applied: resending would have met a 409, or made something twice.
        assert (await resolve(client.get_team(team_id))).id == team_id

        sent_once: list[Callable[[], Any]] = [
            lambda: client.update_team(team_id, name="x"),
            lambda: client.suspend_team(team_id),
            lambda: client.create_key(team_id),
            lambda: client.create_admin_key("x"),
        ]
        for call in sent_once:
            recorder.clear()
            proxy.fail("503")
            with pytest.raises(ServiceUnavailableError):
                await resolve(call())
            assert recorder.retry_counts() == ["0"]

        members = (await resolve(client.get_model_group("default"))).members
        group = _id("group")
        resent: list[tuple[str, Callable[[], Any]]] = [
            ("503", lambda: client.get_team(team_id)),
            ("drop", lambda: client.list_teams(organization_id=org.id)),
            ("drop", lambda: client.put_model_group(group, members)),
            ("503", lambda: client.delete_model_group(group)),
            ("drop", lambda: client.top_up(team_id, 1)),
            ("503", lambda: client.adjust_credits(team_id, 1, reason="resent")),
        ]
        for fault, call in resent:
            recorder.clear()
            proxy.fail(fault)
            await resolve(call())
            assert recorder.retry_counts() == ["0", "1"], fault
        assert (await resolve(client.get_team(team_id))).credits_remaining == 2
    finally:
        proxy.close()


async def test_ledger_pages_newest_first(
    ops: AdminClient, recorder: Recorder, admin: Admin
) -> None:
    team = admin.team(credits=10)
    for amount in (1, 2, 3, 4):
        await resolve(ops.top_up(team.team_id, amount))
    recorder.clear()

    entries = await drain(ops.iter_ledger(team.team_id, page_size=2))
    assert [e.amount for e in entries] == [4, 3, 2, 1, 10]
    assert [e.kind for e in entries] == ["topup"] * 4 + ["grant"]
    assert [e.balance_after for e in entries] == [20, 16, 13, 11, 10]
    # Three pages of at most two, each asked with the previous page's cursor.
    pages = [r.url.params for r in recorder.requests]
    assert [p["limit"] for p in pages] == ["2", "2", "2"]
    assert "cursor" not in pages[0]
    assert pages[1]["cursor"] != pages[2]["cursor"]

    first = await resolve(ops.ledger(team.team_id, limit=2))
    assert isinstance(first, Page)
    assert [e.amount for e in first.data] == [4, 3]
    assert first.next_cursor == pages[1]["cursor"]
    rest = await resolve(ops.ledger(team.team_id, limit=10, cursor=first.next_cursor))
    assert [e.amount for e in rest.data] == [2, 1, 10]
    assert rest.next_cursor is None

    # Stopping early fetches no more pages than were read.
    recorder.clear()
    iterator = ops.iter_ledger(team.team_id, page_size=2)
    if isinstance(iterator, AsyncIterator):
        assert (await anext(iterator)).amount == 4
    else:
        assert next(iterator).amount == 4
    assert len(recorder.requests) == 1


# --- reports -------------------------------------------------------------------------------


async def test_usage_jobs_and_refund_of_a_job(
    ops: AdminClient, recorder: Recorder, sqlite_gateway: GatewayProcess, org: Organization
) -> None:
    team = await resolve(
        ops.create_team(_id("team"), org.id, credits=20, default_model_group="default")
    )
    key = await resolve(ops.create_key(team.id))
    async with SaaSLLMClient(sqlite_gateway.url, team.id, key.key) as client:
        job_id = await client.create_job("report", user_id="u1")
        await client.chat(job_id, MESSAGES)
        result = await client.complete_job(job_id, "completed")
        other = await client.create_job("digest")
        await client.complete_job(other, "completed")
        open_job = await client.create_job("digest")
    assert result.credits_charged == 1

    report = await resolve(ops.usage(team_id=team.id))
    assert isinstance(report, UsageReport)
    assert recorder.requests[-1].url.params == httpx.QueryParams(
        {"team_id": team.id, "group_by": "day"}
    )
    assert report.group_by == "day"
    assert (report.totals.jobs, report.totals.completed_jobs) == (3, 2)
    assert report.totals.calls == 1
    assert report.totals.credits_charged == 2
    assert report.totals.completion_tokens > 0
    assert [row.jobs for row in report.rows] == [3]  # one day
    assert report.rows[0].day is not None

    by_type = await resolve(ops.usage(organization_id=org.id, group_by="job_type"))
    assert {row.job_type: row.jobs for row in by_type.rows} == {"report": 1, "digest": 2}
    # An aware start after now: nothing.
    later = datetime.now(UTC) + timedelta(hours=1)
    empty = await resolve(ops.usage(team_id=team.id, start=later))
    assert recorder.requests[-1].url.params["start"] == later.isoformat()
    assert (empty.rows, empty.totals.jobs) == ([], 0)

    page = await resolve(ops.list_jobs(team_id=team.id))
    assert [j.job_id for j in page.data] == [open_job, other, job_id]
    assert page.next_cursor is None
    assert recorder.requests[-1].url.params["limit"] == "50"
    completed = JobStatus.COMPLETED
    done = await resolve(ops.list_jobs(team_id=team.id, status=completed, job_type="report"))
    assert [(j.job_id, j.user_id, j.credits_charged) for j in done.data] == [(job_id, "u1", 1)]
    assert done.data[0].completed_at is not None
    by_user = await resolve(ops.list_jobs(organization_id=org.id, user_id="u1"))
    assert [j.job_id for j in by_user.data] == [job_id]

    recorder.clear()
    every = await drain(ops.iter_jobs(team_id=team.id, page_size=1))
    assert [j.job_id for j in every] == [open_job, other, job_id]
    assert len(recorder.requests) == 3

    # A job's refund is bounded by its charge and happens once.
    refunded = await resolve(ops.refund(team.id, 1, reason="bad answer", job_id=job_id))
    assert (refunded.kind, refunded.job_id) == ("job_refund", job_id)
    with pytest.raises(ConflictError) as again:
        await resolve(ops.refund(team.id, 1, job_id=job_id))
    assert again.value.error_code == "already_refunded"
    with pytest.raises(UnprocessableEntityError):
        await resolve(ops.refund(team.id, 5, job_id=other))


async def test_audit_log(ops: AdminClient, recorder: Recorder, org: Organization) -> None:
    team_id = _id("team")
    await resolve(ops.create_team(team_id, org.id, credits=5))
    await resolve(ops.update_team(team_id, name="Renamed"))
    await resolve(ops.top_up(team_id, 3))
    page = await resolve(ops.audit(target=f"team:{team_id}", by="admin:env"))
    assert [e.action for e in page.data] == ["credits.topup", "team.update", "team.create"]
    assert page.data[1].details == {"name": "Renamed"}
    assert recorder.requests[-1].url.params == httpx.QueryParams(
        {"by": "admin:env", "target": f"team:{team_id}", "limit": "100"}
    )
    one = await resolve(ops.audit(target=f"team:{team_id}", action="team.update", limit=1))
    assert [e.action for e in one.data] == ["team.update"]
    every = await drain(ops.iter_audit(target=f"team:{team_id}", page_size=1))
    assert [e.id for e in every] == [e.id for e in page.data]


# --- model groups --------------------------------------------------------------------------


async def test_model_groups(ops: AdminClient, recorder: Recorder, org: Organization) -> None:
    groups = await resolve(ops.list_model_groups())
    assert "default" in [g.name for g in groups]
    members = (await resolve(ops.get_model_group("default"))).members
    name = _id("group")
    spec = await resolve(ops.put_model_group(name, members))
    assert recorder.requests[-1].method == "PUT"
    assert recorder.body() == {"name": name, "members": members}
    assert (spec.name, spec.members) == (name, members)
    assert await resolve(ops.get_model_group(name)) == spec
    with pytest.raises(UnprocessableEntityError):
        await resolve(ops.put_model_group(name, ["not-a-deployment"]))

    # In use as a team's default: refused.
    team = await resolve(ops.create_team(_id("team"), org.id, default_model_group=name))
    with pytest.raises(ConflictError):
        await resolve(ops.delete_model_group(name))
    await resolve(ops.update_team(team.id, default_model_group="default"))
    assert await resolve(ops.delete_model_group(name)) is None
    with pytest.raises(NotFoundError):
        await resolve(ops.get_model_group(name))


# --- admin keys and typed errors --------------------------------------------------------------


async def test_read_scope_key_cannot_move_credits(
    ops: AdminClient, make_admin: MakeAdmin, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    made = await resolve(ops.create_admin_key("dashboard", scope="read"))
    assert isinstance(made, AdminKeyCreated)
    assert made.scope == "read"
    assert made.key.startswith(made.prefix)
    assert made.key_id in [k.key_id for k in await resolve(ops.list_admin_keys())]

    reader = make_admin(sqlite_gateway.url, made.key)
    assert (await resolve(reader.get_team(team.team_id))).id == team.team_id
    with pytest.raises(PermissionDeniedError) as caught:
        await resolve(reader.top_up(team.team_id, 10))
    assert caught.value.error_code == "insufficient_scope"
    with pytest.raises(PermissionDeniedError):
        await resolve(reader.audit())

    biller = make_admin(
        sqlite_gateway.url, (await resolve(ops.create_admin_key("b", scope="billing"))).key
    )
    entry = await resolve(biller.top_up(team.team_id, 10))
    assert entry.actor.startswith("admin:adm_")
    with pytest.raises(PermissionDeniedError):
        await resolve(biller.create_team(_id("team"), "tests"))

    revoked = await resolve(ops.revoke_admin_key(made.key_id))
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError):
        await resolve(reader.get_team(team.team_id))


async def test_typed_errors_are_not_retried(
    ops: AdminClient,
    make_admin: MakeAdmin,
    recorder: Recorder,
    sqlite_gateway: GatewayProcess,
    org: Organization,
    team: TeamHandle,
) -> None:
    with pytest.raises(NotFoundError) as not_found:
        await resolve(ops.get_team(_id("missing")))
    assert not_found.value.status_code == 404
    assert not_found.value.error_type == "not_found_error"
    assert isinstance(not_found.value, httpx.HTTPStatusError)

    team_id = _id("team")
    await resolve(ops.create_team(team_id, org.id))
    with pytest.raises(ConflictError) as conflict:
        await resolve(ops.create_team(team_id, org.id))
    assert conflict.value.error_code == "already_exists"
    with pytest.raises(NotFoundError):
        await resolve(ops.create_team(_id("team"), _id("no-org")))

    stranger = make_admin(sqlite_gateway.url, "sk-admin-wrong")
    with pytest.raises(AuthenticationError) as bad_key:
        await resolve(stranger.list_teams())
    assert bad_key.value.error_code == "invalid_admin_key"

    team_key = make_admin(sqlite_gateway.url, team.key)
    with pytest.raises(PermissionDeniedError) as denied:
        await resolve(team_key.list_organizations())
    assert denied.value.error_code == "team_key_not_admin"

    # Every failure above was sent once: none of them is worth a retry.
    assert set(recorder.retry_counts()) == {"0"}
    body = json.loads(denied.value.response.content)
    assert set(body["error"]) >= {"type", "code", "message"}


# --- configuration and the two clients ------------------------------------------------------


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAASLLM_BASE_URL", raising=False)
    monkeypatch.delenv("SAASLLM_ADMIN_KEY", raising=False)
    for cls in (SaaSLLMAdmin, SyncSaaSLLMAdmin):
        with pytest.raises(ValueError, match="base_url"):
            cls()
        with pytest.raises(ValueError, match="admin_key"):
            cls("http://gw:8003/")
        with pytest.raises(ValueError, match="max_retries"):
            cls("http://gw:8003", "sk-admin-x", max_retries=-1)
    monkeypatch.setenv("SAASLLM_BASE_URL", "http://gw:8003/")
    monkeypatch.setenv("SAASLLM_ADMIN_KEY", "sk-admin-secret")
    client = SyncSaaSLLMAdmin()
    assert client.base_url == "http://gw:8003"
    assert client._headers["Authorization"] == "Bearer sk-admin-secret"
    assert "secret" not in repr(client)
    assert client.timeout.read == 30.0
    assert client.timeout.connect == 5.0
    client.close()


async def test_own_http_client_closed_borrowed_one_not(
    kind: str, make_admin: MakeAdmin, sqlite_gateway: GatewayProcess
) -> None:
    borrowed = make_admin(sqlite_gateway.url)
    await resolve(borrowed.list_organizations())
    await resolve(borrowed.close())
    assert not borrowed._http.is_closed
    own: AdminClient
    if kind == "async":
        own = SaaSLLMAdmin(sqlite_gateway.url, ADMIN_KEY)
        async with own:
            await own.list_organizations()
    else:
        own = SyncSaaSLLMAdmin(sqlite_gateway.url, ADMIN_KEY)
        with own:
            own.list_organizations()
    assert own._http.is_closed


def test_sync_and_async_have_the_same_methods_and_signatures() -> None:
    public = {n for n in dir(SaaSLLMAdmin) if not n.startswith("_")} - {"aclose"}
    assert public == {n for n in dir(SyncSaaSLLMAdmin) if not n.startswith("_")}
    for name in public - {"close"}:
        a = inspect.signature(getattr(SaaSLLMAdmin, name))
        s = inspect.signature(getattr(SyncSaaSLLMAdmin, name))
        assert list(a.parameters) == list(s.parameters), name
        assert [p.default for p in a.parameters.values()] == [
            p.default for p in s.parameters.values()
        ], name
