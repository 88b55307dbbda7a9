"""Organizations, teams and model groups (``domain.teams``, ``domain.model_groups``)."""

from __future__ import annotations

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
from saasllm_server.errors import InvalidRequest

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)


@router.post("/organizations", response_model=Organization, status_code=201)
async def create_organization(
    body: OrganizationCreate, gw: GatewayDep, actor: Operator
) -> Organization:
    """Create an organization, the owner of teams; 409 if its id exists."""
    return await gw.tenancy.create_organization(actor.name, body)


@router.get("/organizations", response_model=list[Organization])
async def list_organizations(gw: GatewayDep, actor: Reader) -> list[Organization]:
    """Every organization, by id."""
    return await gw.tenancy.organizations()


@router.get("/organizations/{organization_id}", response_model=Organization)
async def get_organization(organization_id: str, gw: GatewayDep, actor: Reader) -> Organization:
    """One organization; 404 if unknown."""
    return await gw.tenancy.organization(organization_id)


@router.post("/teams", response_model=Team, status_code=201)
async def create_team(body: TeamCreate, gw: GatewayDep, actor: Operator) -> Team:
    """Create a team in an existing organization, with its initial credits (a ``grant``
    ledger entry), billing settings and model groups (its default group is added to them);
    409 if the id exists, even as a deleted team's."""
    return await gw.tenancy.create_team(actor.name, body)


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
    return await gw.tenancy.teams(
        organization_id=organization_id, low_balance=low_balance, include_deleted=include_deleted
    )


@router.get("/teams/{team_id}", response_model=Team)
async def get_team(team_id: str, gw: GatewayDep, actor: Reader) -> Team:
    """A team with its balance, holds, settings and model groups; a deleted team is 404."""
    return await gw.tenancy.team(team_id)


@router.patch("/teams/{team_id}", response_model=Team)
async def update_team(team_id: str, body: TeamUpdate, gw: GatewayDep, actor: Operator) -> Team:
    """Change a team's settings; absent fields stay as they are. Applies from the team's
    next request."""
    return await gw.tenancy.update_team(actor.name, team_id, body)


@router.post("/teams/{team_id}/suspend", response_model=Team)
async def suspend_team(team_id: str, gw: GatewayDep, actor: Operator) -> Team:
    """Every call and job creation of the team is refused (403 ``team_suspended``)."""
    return await gw.tenancy.suspend(actor.name, team_id)


@router.post("/teams/{team_id}/resume", response_model=Team)
async def resume_team(team_id: str, gw: GatewayDep, actor: Operator) -> Team:
    """The suspended team's keys work again."""
    return await gw.tenancy.resume(actor.name, team_id)


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(team_id: str, gw: GatewayDep, actor: Operator) -> None:
    """Soft delete: the team's keys stop working; its jobs, calls and ledger stay."""
    await gw.tenancy.delete(actor.name, team_id)


@router.get("/model-groups", response_model=list[ModelGroupSpec])
async def list_model_groups(gw: GatewayDep, actor: Reader) -> list[ModelGroupSpec]:
    """Every model group with its members, in fallback order."""
    return gw.model_groups.groups()


@router.get("/model-groups/{name}", response_model=ModelGroupSpec)
async def get_model_group(name: str, gw: GatewayDep, actor: Reader) -> ModelGroupSpec:
    """One model group and its members; 404 if unknown."""
    return gw.model_groups.group(name)


@router.put("/model-groups/{name}", response_model=ModelGroupSpec)
async def put_model_group(
    name: str, body: ModelGroupSpec, gw: GatewayDep, actor: Operator
) -> ModelGroupSpec:
    """Create or replace a group: its members, in order, are the fallback chain. A member
    is a ``model_list`` deployment's name, or a deployment defined here with its litellm
    params (an ``api_key`` as ``os.environ/NAME``). Takes effect at once, without a restart."""
    if body.name != name:
        raise InvalidRequest("the body's name differs from the path's", param="name")
    return await gw.model_groups.put(actor.name, body)


@router.delete("/model-groups/{name}", status_code=204)
async def delete_model_group(name: str, gw: GatewayDep, actor: Operator) -> None:
    """Refused while a team uses the group as its default; removed from access lists."""
    await gw.model_groups.delete(actor.name, name)
