"""Virtual keys of teams, and admin API keys (``domain.keys``). A secret is shown once,
at creation."""

from __future__ import annotations

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
    KeyUpdate,
)
from saasllm_server.api.admin.auth import Operator, Reader
from saasllm_server.api.deps import GatewayDep

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={s: {"model": ErrorBody} for s in (401, 403, 404, 409, 422)},
)


@router.post("/teams/{team_id}/keys", response_model=KeyCreated, status_code=201)
async def create_key(team_id: str, body: KeyCreate, gw: GatewayDep, actor: Operator) -> KeyCreated:
    """The response is the only time the secret is shown."""
    return await gw.keys.create(actor.name, team_id, body)


@router.get("/teams/{team_id}/keys", response_model=list[KeyInfo])
async def list_keys(team_id: str, gw: GatewayDep, actor: Reader) -> list[KeyInfo]:
    """The team's keys, oldest first, with their status; never a secret, only its prefix."""
    return await gw.keys.team_keys(team_id)


@router.get("/keys/{key_id}", response_model=KeyInfo)
async def get_key(key_id: str, gw: GatewayDep, actor: Reader) -> KeyInfo:
    """One key's status and settings; never its secret."""
    return await gw.keys.key(key_id)


@router.patch("/keys/{key_id}", response_model=KeyInfo)
async def update_key(key_id: str, body: KeyUpdate, gw: GatewayDep, actor: Operator) -> KeyInfo:
    """Rename, set or clear the expiry time, or narrow the key's model groups."""
    return await gw.keys.update(actor.name, key_id, body)


@router.post("/keys/{key_id}/revoke", response_model=KeyInfo)
async def revoke_key(key_id: str, gw: GatewayDep, actor: Operator) -> KeyInfo:
    """The key fails its next request (401)."""
    return await gw.keys.revoke(actor.name, key_id)


@router.post("/keys/{key_id}/rotate", response_model=KeyCreated, status_code=201)
async def rotate_key(key_id: str, body: KeyRotate, gw: GatewayDep, actor: Operator) -> KeyCreated:
    """A new key for the same team and groups; the old one keeps working for
    ``grace_seconds`` (0: stops now), then fails like an expired key. A revoked,
    expired or already rotated key cannot be rotated (409)."""
    return await gw.keys.rotate(actor.name, key_id, body)


@router.post("/admin-keys", response_model=AdminKeyCreated, status_code=201)
async def create_admin_key(
    body: AdminKeyCreate, gw: GatewayDep, actor: Operator
) -> AdminKeyCreated:
    """A new admin API key with scope ``read``, ``billing`` or ``full``. The response is the
    only time its secret is shown."""
    return await gw.keys.create_admin_key(actor.name, body)


@router.get("/admin-keys", response_model=list[AdminKeyInfo])
async def list_admin_keys(gw: GatewayDep, actor: Operator) -> list[AdminKeyInfo]:
    """Every admin API key, with its scope; never a secret. Needs scope ``full``."""
    return await gw.keys.admin_keys()


@router.post("/admin-keys/{key_id}/revoke", response_model=AdminKeyInfo)
async def revoke_admin_key(key_id: str, gw: GatewayDep, actor: Operator) -> AdminKeyInfo:
    """The admin key fails its next request (401); revoking it again changes nothing."""
    return await gw.keys.revoke_admin_key(actor.name, key_id)
