"""Virtual keys of teams, and admin API keys. A secret is shown once, at creation.

Only a SHA-256 hash and a display prefix are stored. A change to a key drops
it from this process's key cache at once, so a revoked key fails its very next
request here.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter

from saasllm_schema import (
    AdminKeyCreate,
    AdminKeyCreated,
    AdminKeyInfo,
    ErrorBody,
    KeyCreate,
    KeyCreated,
    KeyInfo,
    KeyRotate,
    KeyStatus,
    KeyUpdate,
)
from saasllm_server.api.admin.auth import Operator, Reader
from saasllm_server.api.admin.tenancy import load_team
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.tenancy import display_prefix, generate_key, hash_key
from saasllm_server.errors import InvalidRequest, KeyNotActive, NotFound
from saasllm_server.services import Gateway
from saasllm_server.storage import admin_keys, audit
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)

ADMIN_KEY_PREFIX = "sk-admin-"


def _status(row: Any, now: datetime) -> KeyStatus:
    if row.revoked_at is not None:
        return "revoked"
    expires = as_utc(row.expires_at)
    if expires is not None:
        return "expired" if expires <= now else "expiring"
    return "active"


def key_info(row: Any, now: datetime | None = None) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        team_id=row.team_id,
        name=row.name,
        prefix=row.prefix,
        status=_status(row, now or utcnow()),
        model_groups=row.model_groups,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
        replaced_by=row.replaced_by,
    )


async def _key(gw: Gateway, key_id: str) -> Any:
    async with gw.engine.connect() as conn:
        row = await store.key_row(conn, key_id)
    if row is None:
        raise NotFound(f"key {key_id!r} not found")
    return row


async def _check_key_groups(gw: Gateway, team_id: str, groups: list[str] | None) -> None:
    """A key narrows its team's access; it can never widen it."""
    if groups is None:
        return
    team = await load_team(gw, team_id)
    allowed = set(team.model_groups) | {team.default_model_group}
    outside = [g for g in sorted(set(groups)) if g not in allowed]
    if outside:
        raise InvalidRequest(
            f"model groups {outside} are not among the team's {sorted(team.model_groups)}",
            param="model_groups",
        )


async def _issue(
    gw: Gateway,
    *,
    team_id: str,
    name: str,
    expires_at: datetime | None,
    model_groups: list[str] | None,
    actor: str,
    action: str,
    extra: dict[str, Any] | None = None,
) -> KeyCreated:
    secret = generate_key()
    key_id = f"key_{secrets.token_hex(8)}"
    now = utcnow()
    values = {
        "id": key_id,
        "team_id": team_id,
        "key_hash": hash_key(secret),
        "prefix": display_prefix(secret),
        "name": name,
        "model_groups": None if model_groups is None else sorted(set(model_groups)),
        "expires_at": expires_at,
        "created_at": now,
    }
    async with gw.engine.begin() as conn:
        await store.insert_key(conn, values)
        for old_id, changes in (extra or {}).items():
            # Conditional: of two rotations racing, one claims the old key, the other
            # rolls back (its new key included).
            if not await store.claim_for_rotation(conn, old_id, {**changes, "replaced_by": key_id}):
                raise KeyNotActive(f"key {old_id!r} was rotated or revoked meanwhile")
        await audit.record(
            conn,
            actor=actor,
            action=action,
            target=f"key:{key_id}",
            details={"team_id": team_id, "name": name, "prefix": values["prefix"]},
            now=now,
        )
    for old_id in extra or {}:
        gw.auth.invalidate_key(old_id)
    async with gw.engine.connect() as conn:
        row = await store.key_row(conn, key_id)
    return KeyCreated(**key_info(row, now).model_dump(), key=secret)


@router.post("/teams/{team_id}/keys", response_model=KeyCreated, status_code=201)
async def create_key(team_id: str, body: KeyCreate, gw: GatewayDep, actor: Operator) -> KeyCreated:
    """The response is the only time the secret is shown."""
    await load_team(gw, team_id)
    await _check_key_groups(gw, team_id, body.model_groups)
    return await _issue(
        gw,
        team_id=team_id,
        name=body.name,
        expires_at=body.expires_at,
        model_groups=body.model_groups,
        actor=actor.name,
        action="key.create",
    )


@router.get("/teams/{team_id}/keys", response_model=list[KeyInfo])
async def list_keys(team_id: str, gw: GatewayDep, actor: Reader) -> list[KeyInfo]:
    """The team's keys, oldest first, with their status; never a secret, only its prefix."""
    await load_team(gw, team_id)
    async with gw.engine.connect() as conn:
        rows = await store.key_rows(conn, team_id)
    now = utcnow()
    return [key_info(r, now) for r in rows]


@router.get("/keys/{key_id}", response_model=KeyInfo)
async def get_key(key_id: str, gw: GatewayDep, actor: Reader) -> KeyInfo:
    """One key's status and settings; never its secret."""
    return key_info(await _key(gw, key_id))


@router.patch("/keys/{key_id}", response_model=KeyInfo)
async def update_key(key_id: str, body: KeyUpdate, gw: GatewayDep, actor: Operator) -> KeyInfo:
    """Rename, set or clear the expiry time, or narrow the key's model groups."""
    row = await _key(gw, key_id)
    if row.revoked_at is not None:
        raise KeyNotActive(f"key {key_id!r} is revoked")
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise InvalidRequest("name cannot be null", param="name")
    if "model_groups" in changes:
        await _check_key_groups(gw, row.team_id, changes["model_groups"])
        if changes["model_groups"] is not None:
            changes["model_groups"] = sorted(set(changes["model_groups"]))
    now = utcnow()
    async with gw.engine.begin() as conn:
        if changes:
            await store.update_key(conn, key_id, changes)
        await audit.record(
            conn,
            actor=actor.name,
            action="key.update",
            target=f"key:{key_id}",
            details=body.model_dump(mode="json", exclude_unset=True),
            now=now,
        )
    gw.auth.invalidate_key(key_id)
    return key_info(await _key(gw, key_id))


@router.post("/keys/{key_id}/revoke", response_model=KeyInfo)
async def revoke_key(key_id: str, gw: GatewayDep, actor: Operator) -> KeyInfo:
    """The key fails its next request (401)."""
    row = await _key(gw, key_id)
    if row.revoked_at is None:
        now = utcnow()
        async with gw.engine.begin() as conn:
            await store.update_key(conn, key_id, {"revoked_at": now})
            await audit.record(
                conn,
                actor=actor.name,
                action="key.revoke",
                target=f"key:{key_id}",
                details={"team_id": row.team_id},
                now=now,
            )
    gw.auth.invalidate_key(key_id)
    return key_info(await _key(gw, key_id))


@router.post("/keys/{key_id}/rotate", response_model=KeyCreated, status_code=201)
async def rotate_key(key_id: str, body: KeyRotate, gw: GatewayDep, actor: Operator) -> KeyCreated:
    """A new key for the same team and groups; the old one keeps working for
    ``grace_seconds`` (0: stops now), then fails like an expired key. A revoked,
    expired or already rotated key cannot be rotated (409)."""
    row = await _key(gw, key_id)
    if row.revoked_at is not None:
        raise KeyNotActive(f"key {key_id!r} is revoked")
    if row.replaced_by is not None:
        # Its expiry is now the grace deadline, which the new key would inherit.
        raise KeyNotActive(f"key {key_id!r} was already rotated; rotate {row.replaced_by!r}")
    if _status(row, utcnow()) == "expired":
        raise KeyNotActive(f"key {key_id!r} has expired; create a new key or update its expiry")
    await load_team(gw, row.team_id)
    ends = utcnow() + timedelta(seconds=body.grace_seconds)
    current_end = as_utc(row.expires_at)
    if current_end is not None and current_end < ends:
        ends = current_end
    created = await _issue(
        gw,
        team_id=row.team_id,
        name=row.name if body.name is None else body.name,
        expires_at=as_utc(row.expires_at),
        model_groups=row.model_groups,
        actor=actor.name,
        action="key.rotate",
        extra={key_id: {"expires_at": ends}},
    )
    return created


def _admin_key_info(row: Any) -> AdminKeyInfo:
    return AdminKeyInfo(
        key_id=row.id,
        name=row.name,
        scope=row.scope,
        prefix=row.prefix,
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at),
    )


@router.post("/admin-keys", response_model=AdminKeyCreated, status_code=201)
async def create_admin_key(
    body: AdminKeyCreate, gw: GatewayDep, actor: Operator
) -> AdminKeyCreated:
    """A new admin API key with scope ``read``, ``billing`` or ``full``. The response is the
    only time its secret is shown."""
    secret = ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = f"adm_{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    values = {
        "id": key_id,
        "name": body.name,
        "key_hash": hash_key(secret),
        "prefix": secret[: len(ADMIN_KEY_PREFIX) + 4],
        "scope": body.scope,
        "created_at": now,
    }
    async with gw.engine.begin() as conn:
        await admin_keys.insert_key(conn, values)
        await audit.record(
            conn,
            actor=actor.name,
            action="admin_key.create",
            target=f"admin_key:{key_id}",
            details={"name": body.name, "scope": body.scope},
            now=now,
        )
        row = await admin_keys.get(conn, key_id)
    return AdminKeyCreated(**_admin_key_info(row).model_dump(), key=secret)


@router.get("/admin-keys", response_model=list[AdminKeyInfo])
async def list_admin_keys(gw: GatewayDep, actor: Operator) -> list[AdminKeyInfo]:
    """Every admin API key, with its scope; never a secret. Needs scope ``full``."""
    async with gw.engine.connect() as conn:
        return [_admin_key_info(r) for r in await admin_keys.all_keys(conn)]


@router.post("/admin-keys/{key_id}/revoke", response_model=AdminKeyInfo)
async def revoke_admin_key(key_id: str, gw: GatewayDep, actor: Operator) -> AdminKeyInfo:
    """The admin key fails its next request (401); revoking it again changes nothing."""
    now = utcnow()
    async with gw.engine.begin() as conn:
        row = await admin_keys.get(conn, key_id)
        if row is None:
            raise NotFound(f"admin key {key_id!r} not found")
        if await admin_keys.revoke(conn, key_id, now):
            await audit.record(
                conn,
                actor=actor.name,
                action="admin_key.revoke",
                target=f"admin_key:{key_id}",
                details={},
                now=now,
            )
        row = await admin_keys.get(conn, key_id)
    return _admin_key_info(row)
