"""Organizations, teams and model groups. Every change is audited in its own transaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from saasllm_schema import (
    ErrorBody,
    ModelGroupSpec,
    Organization,
    OrganizationCreate,
    Team,
    TeamCreate,
    TeamUpdate,
)
from saasllm_server.api.admin.auth import Operator, Reader
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain import billing
from saasllm_server.errors import Conflict, InvalidRequest, NotFound
from saasllm_server.services import Gateway, inline_deployments
from saasllm_server.storage import audit
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow
from saasllm_server.upstreams.router import build_deployment

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)


# Team fields an update may set to null (no limit, no default, no threshold).
_CLEARABLE = frozenset(
    {"default_model_group", "rpm_limit", "max_concurrent_streams", "low_balance_threshold"}
)


def team_view(row: Any, balance: int, reserved: int, groups: list[str]) -> Team:
    available = billing.available(balance, reserved, int(row.overdraft_limit))
    threshold = row.low_balance_threshold
    return Team(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        status=row.status,
        credits_remaining=balance,
        credits_reserved=reserved,
        credits_available=available,
        low_balance=threshold is not None and balance <= int(threshold),
        default_model_group=row.default_model_group,
        model_groups=groups,
        budget_mode=row.budget_mode,
        credits_per_job=int(row.credits_per_job),
        tokens_per_credit=int(row.tokens_per_credit),
        credits_per_dollar=float(row.credits_per_dollar),
        markup_percent=float(row.markup_percent),
        overdraft_limit=int(row.overdraft_limit),
        low_balance_threshold=None if threshold is None else int(threshold),
        rpm_limit=row.rpm_limit,
        max_concurrent_streams=row.max_concurrent_streams,
        created_at=as_utc(row.created_at),
        deleted_at=as_utc(row.deleted_at),
    )


async def load_team(gw: Gateway, team_id: str) -> Team:
    """A live team (a deleted one is 404 like an unknown one)."""
    async with gw.engine.connect() as conn:
        views = await store.team_views(conn, team_id=team_id)
    if not views:
        raise NotFound(f"team {team_id!r} not found")
    return team_view(*views[0])


def _check_groups(gw: Gateway, groups: set[str]) -> None:
    unknown = [g for g in sorted(groups) if gw.catalog.members(g) is None]
    if unknown:
        raise InvalidRequest(f"unknown model groups {unknown}", param="model_groups")


@router.post("/organizations", response_model=Organization, status_code=201)
async def create_organization(
    body: OrganizationCreate, gw: GatewayDep, actor: Operator
) -> Organization:
    """Create an organization, the owner of teams; 409 if its id exists."""
    now = utcnow()
    async with gw.engine.begin() as conn:
        if await store.organization_exists(conn, body.id):
            raise Conflict(f"organization {body.id!r} exists")
        await store.upsert_organization(conn, body.id, body.name or body.id, now)
        await audit.record(
            conn,
            actor=actor.name,
            action="organization.create",
            target=f"organization:{body.id}",
            details=body.model_dump(),
            now=now,
        )
    return Organization(id=body.id, name=body.name or body.id, created_at=now)


@router.get("/organizations", response_model=list[Organization])
async def list_organizations(gw: GatewayDep, actor: Reader) -> list[Organization]:
    """Every organization, by id."""
    async with gw.engine.connect() as conn:
        rows = await store.organizations_list(conn)
    return [Organization(id=r.id, name=r.name, created_at=as_utc(r.created_at)) for r in rows]


@router.get("/organizations/{organization_id}", response_model=Organization)
async def get_organization(organization_id: str, gw: GatewayDep, actor: Reader) -> Organization:
    """One organization; 404 if unknown."""
    async with gw.engine.connect() as conn:
        row = await store.organization_row(conn, organization_id)
    if row is None:
        raise NotFound(f"organization {organization_id!r} not found")
    return Organization(id=row.id, name=row.name, created_at=as_utc(row.created_at))


@router.post("/teams", response_model=Team, status_code=201)
async def create_team(body: TeamCreate, gw: GatewayDep, actor: Operator) -> Team:
    """Create a team in an existing organization, with its initial credits (a ``grant``
    ledger entry), billing settings and model groups (its default group is added to them);
    409 if the id exists, even as a deleted team's."""
    groups = set(body.model_groups)
    if body.default_model_group:
        groups.add(body.default_model_group)
    _check_groups(gw, groups)
    now = utcnow()
    async with gw.engine.begin() as conn:
        if not await store.organization_exists(conn, body.organization_id):
            raise NotFound(f"organization {body.organization_id!r} not found")
        if await store.team_row(conn, body.id) is not None:
            raise Conflict(f"team {body.id!r} exists")
        values = body.model_dump(exclude={"credits", "model_groups"})
        values.update(name=body.name or body.id, status="active")
        await store.upsert_team(conn, values, body.credits, actor.name, now)
        await store.set_team_groups(conn, body.id, sorted(groups))
        await audit.record(
            conn,
            actor=actor.name,
            action="team.create",
            target=f"team:{body.id}",
            details=body.model_dump(mode="json"),
            now=now,
        )
    return await load_team(gw, body.id)


@router.get("/teams", response_model=list[Team])
async def list_teams(
    gw: GatewayDep,
    actor: Reader,
    organization_id: str | None = None,
    low_balance: bool | None = None,
    include_deleted: bool = False,
) -> list[Team]:
    """Live teams, by id. Filter by organization, or by ``low_balance`` (the balance is at
    or below the team's ``low_balance_threshold``); ``include_deleted`` adds deleted teams."""
    async with gw.engine.connect() as conn:
        views = await store.team_views(
            conn, organization_id=organization_id, include_deleted=include_deleted
        )
    found = [team_view(*v) for v in views]
    if low_balance is not None:
        found = [t for t in found if t.low_balance == low_balance]
    return found


@router.get("/teams/{team_id}", response_model=Team)
async def get_team(team_id: str, gw: GatewayDep, actor: Reader) -> Team:
    """A team with its balance, holds, settings and model groups; a deleted team is 404."""
    return await load_team(gw, team_id)


@router.patch("/teams/{team_id}", response_model=Team)
async def update_team(team_id: str, body: TeamUpdate, gw: GatewayDep, actor: Operator) -> Team:
    """Change a team's settings; absent fields stay as they are. Applies from the team's
    next request."""
    current = await load_team(gw, team_id)
    changes = body.model_dump(exclude_unset=True)
    new_groups = changes.pop("model_groups", None)
    groups = set(current.model_groups if new_groups is None else new_groups)
    default = changes.get("default_model_group", current.default_model_group)
    if default:
        groups.add(default)
    _check_groups(gw, groups)
    for field, value in changes.items():
        if value is None and field not in _CLEARABLE:
            raise InvalidRequest(f"{field} cannot be null", param=field)
    now = utcnow()
    async with gw.engine.begin() as conn:
        if changes:
            await store.update_team(conn, team_id, changes)
        await store.set_team_groups(conn, team_id, sorted(groups))
        await audit.record(
            conn,
            actor=actor.name,
            action="team.update",
            target=f"team:{team_id}",
            details=body.model_dump(mode="json", exclude_unset=True),
            now=now,
        )
    gw.auth.invalidate_team(team_id)
    gw.jobs.forget_balance(team_id)
    return await load_team(gw, team_id)


async def _lifecycle(
    gw: Gateway, actor: str, team_id: str, action: str, values: dict[str, Any]
) -> None:
    await load_team(gw, team_id)
    now = utcnow()
    async with gw.engine.begin() as conn:
        await store.update_team(conn, team_id, values)
        await audit.record(
            conn, actor=actor, action=action, target=f"team:{team_id}", details={}, now=now
        )
    gw.auth.invalidate_team(team_id)


@router.post("/teams/{team_id}/suspend", response_model=Team)
async def suspend_team(team_id: str, gw: GatewayDep, actor: Operator) -> Team:
    """Every call and job creation of the team is refused (403 ``team_suspended``)."""
    await _lifecycle(gw, actor.name, team_id, "team.suspend", {"status": "suspended"})
    return await load_team(gw, team_id)


@router.post("/teams/{team_id}/resume", response_model=Team)
async def resume_team(team_id: str, gw: GatewayDep, actor: Operator) -> Team:
    """The suspended team's keys work again."""
    await _lifecycle(gw, actor.name, team_id, "team.resume", {"status": "active"})
    return await load_team(gw, team_id)


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(team_id: str, gw: GatewayDep, actor: Operator) -> None:
    """Soft delete: the team's keys stop working; its jobs, calls and ledger stay."""
    await _lifecycle(gw, actor.name, team_id, "team.delete", {"deleted_at": utcnow()})


@router.get("/model-groups", response_model=list[ModelGroupSpec])
async def list_model_groups(gw: GatewayDep, actor: Reader) -> list[ModelGroupSpec]:
    """Every model group with its members, in fallback order."""
    specs = [gw.catalog.spec(name) for name in gw.catalog.names()]
    return [spec for spec in specs if spec is not None]


@router.get("/model-groups/{name}", response_model=ModelGroupSpec)
async def get_model_group(name: str, gw: GatewayDep, actor: Reader) -> ModelGroupSpec:
    """One model group and its members; 404 if unknown."""
    spec = gw.catalog.spec(name)
    if spec is None:
        raise NotFound(f"model group {name!r} not found")
    return spec


@router.put("/model-groups/{name}", response_model=ModelGroupSpec)
async def put_model_group(
    name: str, body: ModelGroupSpec, gw: GatewayDep, actor: Operator
) -> ModelGroupSpec:
    """Create or replace a group: its members, in order, are the fallback chain. A member
    is a ``model_list`` deployment's name, or a deployment defined here with its litellm
    params (an ``api_key`` as ``os.environ/NAME``). Takes effect at once, without a restart."""
    if body.name != name:
        raise InvalidRequest("the body's name differs from the path's", param="name")
    listed = {d.model_name for d in gw.config.model_list}
    unknown = [m for m in body.members if isinstance(m, str) and m not in listed]
    if unknown:
        raise InvalidRequest(f"members {unknown} are not in the model_list", param="members")
    keys = body.member_keys()
    if len(set(keys)) != len(keys):
        raise InvalidRequest("a deployment appears twice in the group", param="members")
    for config in inline_deployments([body]):
        try:
            build_deployment(config, config.model_name)
        except Exception as exc:  # litellm raises bare exceptions for unknown providers
            raise InvalidRequest(
                f"member {config.model_name!r}: litellm cannot use these params: {exc}",
                param="members",
            ) from None
    now = utcnow()
    async with gw.engine.begin() as conn:
        await store.replace_model_group(conn, body, now)
        await audit.record(
            conn,
            actor=actor.name,
            action="model_group.put",
            target=f"model_group:{name}",
            details=body.model_dump(mode="json"),
            now=now,
        )
    await gw.reload_model_groups()
    return body


@router.delete("/model-groups/{name}", status_code=204)
async def delete_model_group(name: str, gw: GatewayDep, actor: Operator) -> None:
    """Refused while a team uses the group as its default; removed from access lists."""
    now = utcnow()
    async with gw.engine.begin() as conn:
        defaulting = await store.teams_defaulting_to(conn, name)
        if defaulting:
            raise Conflict(f"model group {name!r} is the default of teams {defaulting}")
        if not await store.delete_model_group(conn, name):
            raise NotFound(f"model group {name!r} not found")
        await audit.record(
            conn,
            actor=actor.name,
            action="model_group.delete",
            target=f"model_group:{name}",
            details={},
            now=now,
        )
    await gw.reload_model_groups()
    gw.auth.clear()
