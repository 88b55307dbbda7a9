"""Virtual keys of teams and admin API keys. A secret is shown once, at creation.

Only a SHA-256 hash and a display prefix are stored. Every change publishes a
key change, so a revoked key fails its very next request.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from saasllm_schema import (
    AdminKeyCreate,
    AdminKeyCreated,
    AdminKeyInfo,
    KeyCreate,
    KeyCreated,
    KeyInfo,
    KeyRotate,
    KeyStatus,
    KeyUpdate,
)
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.teams import TenancyService
from saasllm_server.domain.tenancy import display_prefix, generate_key, hash_key
from saasllm_server.domain.writes import ChangeWriter
from saasllm_server.errors import InvalidRequest, KeyNotActive, NotFound
from saasllm_server.storage import admin_keys
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow

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


def admin_key_info(row: Any) -> AdminKeyInfo:
    return AdminKeyInfo(
        key_id=row.id,
        name=row.name,
        scope=row.scope,
        prefix=row.prefix,
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at),
    )


class KeyService:
    def __init__(self, writer: ChangeWriter, tenancy: TenancyService) -> None:
        self._writer = writer
        self._engine = writer.engine
        self._tenancy = tenancy

    async def _row(self, key_id: str) -> Any:
        async with self._engine.connect() as conn:
            row = await store.key_row(conn, key_id)
        if row is None:
            raise NotFound(f"key {key_id!r} not found")
        return row

    async def key(self, key_id: str) -> KeyInfo:
        return key_info(await self._row(key_id))

    async def team_keys(self, team_id: str) -> list[KeyInfo]:
        """Oldest first, never a secret."""
        await self._tenancy.team(team_id)
        async with self._engine.connect() as conn:
            rows = await store.key_rows(conn, team_id)
        now = utcnow()
        return [key_info(r, now) for r in rows]

    async def _check_groups(self, team_id: str, groups: list[str] | None) -> None:
        """A key narrows its team's access; it can never widen it."""
        if groups is None:
            return
        team = await self._tenancy.team(team_id)
        allowed = set(team.model_groups) | {team.default_model_group}
        outside = [g for g in sorted(set(groups)) if g not in allowed]
        if outside:
            raise InvalidRequest(
                f"model groups {outside} are not among the team's {sorted(team.model_groups)}",
                param="model_groups",
            )

    async def create(self, actor: str, team_id: str, body: KeyCreate) -> KeyCreated:
        await self._tenancy.team(team_id)
        await self._check_groups(team_id, body.model_groups)
        return await self._issue(
            actor,
            team_id=team_id,
            name=body.name,
            expires_at=body.expires_at,
            model_groups=body.model_groups,
            action="key.create",
        )

    async def _issue(
        self,
        actor: str,
        *,
        team_id: str,
        name: str,
        expires_at: datetime | None,
        model_groups: list[str] | None,
        action: str,
        replacing: tuple[str, datetime | None] | None = None,
    ) -> KeyCreated:
        """A new key; with ``replacing`` (old key id, its new end), the old key is claimed
        for the rotation in the same transaction."""
        secret = generate_key()
        key_id = f"key_{secrets.token_hex(8)}"
        prefix = display_prefix(secret)
        # The replaced key is the one any cache may hold; a new key is in none.
        subject = key_id if replacing is None else replacing[0]
        async with self._writer.change(
            actor=actor,
            action=action,
            target=f"key:{key_id}",
            details={"team_id": team_id, "name": name, "prefix": prefix},
            event=Change(ChangeKind.KEY, subject),
        ) as write:
            await store.insert_key(
                write.conn,
                {
                    "id": key_id,
                    "team_id": team_id,
                    "key_hash": hash_key(secret),
                    "prefix": prefix,
                    "name": name,
                    "model_groups": None if model_groups is None else sorted(set(model_groups)),
                    "expires_at": expires_at,
                    "created_at": write.now,
                },
            )
            if replacing is not None:
                old_id, ends = replacing
                # Conditional: of two rotations racing, one claims the old key, the other
                # rolls back (its new key included).
                claimed = await store.claim_for_rotation(
                    write.conn, old_id, {"expires_at": ends, "replaced_by": key_id}
                )
                if not claimed:
                    raise KeyNotActive(f"key {old_id!r} was rotated or revoked meanwhile")
            row = await store.key_row(write.conn, key_id)
        return KeyCreated(**key_info(row, write.now).model_dump(), key=secret)

    async def update(self, actor: str, key_id: str, body: KeyUpdate) -> KeyInfo:
        """Rename, set or clear the expiry, or narrow the key's model groups."""
        row = await self._row(key_id)
        if row.revoked_at is not None:
            raise KeyNotActive(f"key {key_id!r} is revoked")
        changes = body.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            raise InvalidRequest("name cannot be null", param="name")
        if "model_groups" in changes:
            await self._check_groups(row.team_id, changes["model_groups"])
            if changes["model_groups"] is not None:
                changes["model_groups"] = sorted(set(changes["model_groups"]))
        async with self._writer.change(
            actor=actor,
            action="key.update",
            target=f"key:{key_id}",
            details=body.model_dump(mode="json", exclude_unset=True),
            event=Change(ChangeKind.KEY, key_id),
        ) as write:
            if changes:
                await store.update_key(write.conn, key_id, changes)
        return await self.key(key_id)

    async def revoke(self, actor: str, key_id: str) -> KeyInfo:
        """Revoking a revoked key changes nothing (and audits nothing)."""
        row = await self._row(key_id)
        if row.revoked_at is None:
            async with self._writer.change(
                actor=actor,
                action="key.revoke",
                target=f"key:{key_id}",
                details={"team_id": row.team_id},
                event=Change(ChangeKind.KEY, key_id),
            ) as write:
                await store.update_key(write.conn, key_id, {"revoked_at": write.now})
        return await self.key(key_id)

    async def rotate(self, actor: str, key_id: str, body: KeyRotate) -> KeyCreated:
        """A new key for the same team and groups; the old one works for ``grace_seconds``
        more (never past its own expiry). A revoked, expired or already rotated key cannot
        be rotated: a second successor would inherit the grace deadline as its expiry."""
        row = await self._row(key_id)
        if row.revoked_at is not None:
            raise KeyNotActive(f"key {key_id!r} is revoked")
        if row.replaced_by is not None:
            raise KeyNotActive(f"key {key_id!r} was already rotated; rotate {row.replaced_by!r}")
        if _status(row, utcnow()) == "expired":
            raise KeyNotActive(f"key {key_id!r} has expired; create a new key or update its expiry")
        await self._tenancy.team(row.team_id)
        ends = utcnow() + timedelta(seconds=body.grace_seconds)
        current_end = as_utc(row.expires_at)
        if current_end is not None and current_end < ends:
            ends = current_end
        return await self._issue(
            actor,
            team_id=row.team_id,
            name=row.name if body.name is None else body.name,
            expires_at=current_end,
            model_groups=row.model_groups,
            action="key.rotate",
            replacing=(key_id, ends),
        )

    async def create_admin_key(self, actor: str, body: AdminKeyCreate) -> AdminKeyCreated:
        secret = ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = f"adm_{secrets.token_hex(8)}"
        async with self._writer.change(
            actor=actor,
            action="admin_key.create",
            target=f"admin_key:{key_id}",
            details={"name": body.name, "scope": body.scope},
            event=Change(ChangeKind.ADMIN_KEY, key_id),
        ) as write:
            await admin_keys.insert_key(
                write.conn,
                {
                    "id": key_id,
                    "name": body.name,
                    "key_hash": hash_key(secret),
                    "prefix": secret[: len(ADMIN_KEY_PREFIX) + 4],
                    "scope": body.scope,
                    "created_at": write.now,
                },
            )
            row = await admin_keys.get(write.conn, key_id)
        return AdminKeyCreated(**admin_key_info(row).model_dump(), key=secret)

    async def admin_keys(self) -> list[AdminKeyInfo]:
        async with self._engine.connect() as conn:
            return [admin_key_info(r) for r in await admin_keys.all_keys(conn)]

    async def revoke_admin_key(self, actor: str, key_id: str) -> AdminKeyInfo:
        """Revoking it again changes nothing."""
        async with self._writer.change(
            actor=actor,
            action="admin_key.revoke",
            target=f"admin_key:{key_id}",
            event=Change(ChangeKind.ADMIN_KEY, key_id),
        ) as write:
            if await admin_keys.get(write.conn, key_id) is None:
                raise NotFound(f"admin key {key_id!r} not found")
            if not await admin_keys.revoke(write.conn, key_id, write.now):
                write.audited, write.event = False, None
            row = await admin_keys.get(write.conn, key_id)
        return admin_key_info(row)
