"""The operator's admin API (the minimum of the foundation; the full surface comes later).

Guarded by the admin key from the environment. A team key is recognised and
refused with 403, so a leaked team key can never act as an admin.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header

from saasllm_schema import (
    Balance,
    CreditChange,
    ErrorBody,
    ErrorCode,
    KeyCreate,
    KeyCreated,
    ModelGroupSpec,
    Organization,
    OrganizationCreate,
    Team,
    TeamCreate,
    TeamUpdate,
)
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.auth import bearer_token
from saasllm_server.domain.tenancy import display_prefix, generate_key, hash_key
from saasllm_server.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from saasllm_server.storage import ledger
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow
from saasllm_server.storage.tables import teams


async def require_admin(
    gw: GatewayDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    token = bearer_token(authorization)
    expected = gw.settings.admin_key
    if expected is not None and secrets.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        return "admin"
    async with gw.engine.connect() as conn:
        team_key = await store.find_principal(conn, hash_key(token), utcnow())
    if team_key is not None:
        raise PermissionDenied(
            "a team key cannot use the admin API", code=ErrorCode.INVALID_ADMIN_KEY
        )
    raise AuthenticationFailed("invalid admin key", code=ErrorCode.INVALID_ADMIN_KEY)


AdminDep = Annotated[str, Depends(require_admin)]

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)


@router.post("/organizations", response_model=Organization)
async def create_organization(
    body: OrganizationCreate, gw: GatewayDep, actor: AdminDep
) -> Organization:
    now = utcnow()
    async with gw.engine.begin() as conn:
        if await store.organization_exists(conn, body.id):
            raise Conflict(f"organization {body.id!r} exists")
        await store.upsert_organization(conn, body.id, body.name or body.id, now)
    return Organization(id=body.id, name=body.name or body.id, created_at=now)


async def _team(gw: GatewayDep, team_id: str) -> Team:
    async with gw.engine.connect() as conn:
        row = await store.team_row(conn, team_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"team {team_id!r} not found")
        groups = await store.team_groups(conn, team_id)
        credits = await store.balance(conn, team_id) or 0
    return _team_model(row, groups, credits)


def _team_model(row: Any, groups: list[str], credits: int) -> Team:
    return Team(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        status=row.status,
        credits_remaining=credits,
        default_model_group=row.default_model_group,
        model_groups=groups,
        budget_mode=row.budget_mode,
        rpm_limit=row.rpm_limit,
        max_concurrent_streams=row.max_concurrent_streams,
        created_at=as_utc(row.created_at),
    )


@router.post("/teams", response_model=Team)
async def create_team(body: TeamCreate, gw: GatewayDep, actor: AdminDep) -> Team:
    groups = set(body.model_groups)
    if body.default_model_group:
        groups.add(body.default_model_group)
    unknown = [g for g in sorted(groups) if gw.catalog.members(g) is None]
    if unknown:
        raise InvalidRequest(f"unknown model groups {unknown}", param="model_groups")
    async with gw.engine.begin() as conn:
        if not await store.organization_exists(conn, body.organization_id):
            raise NotFound(f"organization {body.organization_id!r} not found")
        if await store.team_row(conn, body.id) is not None:
            raise Conflict(f"team {body.id!r} exists")
        await store.upsert_team(
            conn,
            {
                "id": body.id,
                "organization_id": body.organization_id,
                "name": body.name or body.id,
                "status": "active",
                "budget_mode": body.budget_mode,
                "credits_per_job": 1,
                "default_model_group": body.default_model_group,
                "rpm_limit": body.rpm_limit,
                "max_concurrent_streams": body.max_concurrent_streams,
            },
            body.credits,
            actor,
            utcnow(),
        )
        await store.set_team_groups(conn, body.id, sorted(groups))
    return await _team(gw, body.id)


@router.get("/teams/{team_id}", response_model=Team)
async def get_team(team_id: str, gw: GatewayDep, actor: AdminDep) -> Team:
    return await _team(gw, team_id)


@router.patch("/teams/{team_id}", response_model=Team)
async def update_team(team_id: str, body: TeamUpdate, gw: GatewayDep, actor: AdminDep) -> Team:
    current = await _team(gw, team_id)
    changes = body.model_dump(exclude_unset=True)
    groups = set(changes.pop("model_groups", None) or current.model_groups)
    default = changes.get("default_model_group", current.default_model_group)
    if default:
        groups.add(default)
    unknown = [g for g in sorted(groups) if gw.catalog.members(g) is None]
    if unknown:
        raise InvalidRequest(f"unknown model groups {unknown}", param="model_groups")
    async with gw.engine.begin() as conn:
        if changes:
            await conn.execute(teams.update().where(teams.c.id == team_id).values(**changes))
        await store.set_team_groups(conn, team_id, sorted(groups))
    gw.auth.invalidate_team(team_id)
    return await _team(gw, team_id)


@router.post("/teams/{team_id}/keys", response_model=KeyCreated)
async def create_key(team_id: str, body: KeyCreate, gw: GatewayDep, actor: AdminDep) -> KeyCreated:
    await _team(gw, team_id)
    secret = generate_key()
    key_id = f"key_{secrets.token_hex(8)}"
    now = utcnow()
    async with gw.engine.begin() as conn:
        await store.upsert_key(
            conn,
            key_id=key_id,
            team_id=team_id,
            key_hash=hash_key(secret),
            prefix=display_prefix(secret),
            name=body.name,
            now=now,
        )
    return KeyCreated(
        key_id=key_id, team_id=team_id, key=secret, prefix=display_prefix(secret), created_at=now
    )


@router.post("/teams/{team_id}/credits", response_model=Balance)
async def change_credits(
    team_id: str, body: CreditChange, gw: GatewayDep, actor: AdminDep
) -> Balance:
    await _team(gw, team_id)
    async with gw.engine.begin() as conn:
        balance = await ledger.move(
            conn,
            team_id=team_id,
            amount=body.amount,
            kind="adjustment" if body.amount < 0 else "topup",
            now=utcnow(),
            reason=body.reason,
            actor=actor,
        )
    gw.jobs.forget_balance(team_id)
    if balance is None:
        raise InvalidRequest("the change would make the balance negative", param="amount")
    return Balance(team_id=team_id, credits_remaining=balance)


async def _set_status(gw: GatewayDep, team_id: str, status: str) -> Team:
    await _team(gw, team_id)
    async with gw.engine.begin() as conn:
        await conn.execute(teams.update().where(teams.c.id == team_id).values(status=status))
    gw.auth.invalidate_team(team_id)
    return await _team(gw, team_id)


@router.post("/teams/{team_id}/suspend", response_model=Team)
async def suspend_team(team_id: str, gw: GatewayDep, actor: AdminDep) -> Team:
    return await _set_status(gw, team_id, "suspended")


@router.post("/teams/{team_id}/resume", response_model=Team)
async def resume_team(team_id: str, gw: GatewayDep, actor: AdminDep) -> Team:
    return await _set_status(gw, team_id, "active")


@router.get("/model-groups", response_model=list[ModelGroupSpec])
async def list_model_groups(gw: GatewayDep, actor: AdminDep) -> list[ModelGroupSpec]:
    return [
        ModelGroupSpec(name=name, members=list(gw.catalog.members(name) or ()))
        for name in gw.catalog.names()
    ]


@router.put("/model-groups/{name}", response_model=ModelGroupSpec)
async def put_model_group(
    name: str, body: ModelGroupSpec, gw: GatewayDep, actor: AdminDep
) -> ModelGroupSpec:
    if body.name != name:
        raise InvalidRequest("the body's name differs from the path's", param="name")
    unknown = [m for m in body.members if m not in gw.router.members]
    if unknown:
        raise InvalidRequest(f"members {unknown} are not in the model_list", param="members")
    async with gw.engine.begin() as conn:
        await store.replace_model_group(conn, name, body.members, utcnow())
    await gw.reload_model_groups()
    return body
