"""Virtual-key authentication with a short-lived in-process cache.

The cache saves one query per request on the hot path. It subscribes to the
change events, so a key or team changed on this process is dropped from it
before the change's own request returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saasllm_schema import ErrorCode
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.key_guard import KeyGuard
from saasllm_server.domain.tenancy import Principal, hash_key
from saasllm_server.errors import AuthenticationFailed, TeamSuspended
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow

_MAX_ENTRIES = 100_000
# Keys created on another replica are known here after at most this long.
_LIVE_KEYS_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class DefaultLimits:
    """The operator's limits for teams that set none of their own."""

    rpm_limit: int | None = None
    max_concurrent_streams: int | None = None


class KeyAuthenticator:
    def __init__(
        self,
        engine: AsyncEngine,
        ttl_s: float,
        defaults: DefaultLimits | None = None,
        guard: KeyGuard | None = None,
    ) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._defaults = defaults or DefaultLimits()
        self._guard = guard or KeyGuard()
        self._cache: dict[str, tuple[float, Principal]] = {}
        # The hashes of every live key, read only while some address is being throttled,
        # so a valid key never waits behind a storm of wrong ones from its address.
        self._live: frozenset[str] = frozenset()
        self._live_until = 0.0
        self._live_read: asyncio.Future[frozenset[str]] | None = None

    async def authenticate(self, authorization: str | None, client: str | None = None) -> Principal:
        """``client`` (the caller's address) lets repeated bad keys be slowed down."""
        secret = bearer_token(authorization)
        key_hash = hash_key(secret)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            if self._guard.known_miss(key_hash, now):
                self._guard.missed(key_hash, client, now)
                raise AuthenticationFailed("invalid, revoked or expired API key")
            refusal = self._guard.lookup_slot(client, now)
            if refusal is not None and key_hash not in await self._live_keys(now):
                raise refusal
            found = await self.lookup(key_hash)
            if found is None:
                self._cache.pop(key_hash, None)
                self._guard.missed(key_hash, client, now)
                raise AuthenticationFailed("invalid, revoked or expired API key")
            principal = found
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[key_hash] = (now + self._ttl_s, principal)
        if principal.key_expires_at is not None and principal.key_expires_at <= time.time():
            self._cache.pop(key_hash, None)
            raise AuthenticationFailed("invalid, revoked or expired API key")
        if principal.suspended:
            raise TeamSuspended(f"team {principal.team_id!r} is suspended")
        return principal

    async def _live_keys(self, now: float) -> frozenset[str]:
        """At most one read per ``_LIVE_KEYS_TTL_S``, shared by every caller meanwhile."""
        if now < self._live_until:
            return self._live
        if self._live_read is None:
            self._live_read = asyncio.ensure_future(self._read_live_keys())
        reading = self._live_read
        try:
            live = await asyncio.shield(reading)
        finally:
            if self._live_read is reading and reading.done():
                self._live_read = None
        if now >= self._live_until:
            self._live, self._live_until = live, time.monotonic() + _LIVE_KEYS_TTL_S
        return self._live

    async def _read_live_keys(self) -> frozenset[str]:
        async with self._engine.connect() as conn:
            return frozenset(await store.live_key_hashes(conn))

    async def lookup(self, key_hash: str) -> Principal | None:
        """The live key's principal, or None for an unknown, revoked, expired or deleted key."""
        async with self._engine.connect() as conn:
            found = await store.find_key(conn, key_hash)
        if found is None:
            return None
        return principal_of(*found, now=utcnow(), defaults=self._defaults)

    async def on_change(self, change: Change) -> None:
        if change.kind is ChangeKind.KEY:
            self._drop(lambda p: p.key_id == change.subject)
            self._guard.forget_misses()
            self._live_until = 0.0
        elif change.kind is ChangeKind.TEAM:
            self._drop(lambda p: p.team_id == change.subject)
            self._guard.forget_misses()
        elif change.kind is ChangeKind.MODEL_GROUPS:
            # Access lists name groups; a deleted group leaves every list it was on.
            self._cache.clear()

    def _drop(self, matches: Callable[[Principal], bool]) -> None:
        for key_hash in [h for h, (_, p) in self._cache.items() if matches(p)]:
            del self._cache[key_hash]


def principal_of(
    row: Any, groups: list[str], *, now: datetime, defaults: DefaultLimits
) -> Principal | None:
    """A key row (with its team's columns) as the principal it stands for, if it is live."""
    if row.revoked_at is not None or row.deleted_at is not None:
        return None
    expires_at = as_utc(row.expires_at)
    if expires_at is not None and expires_at <= now:
        return None
    return _principal(
        row,
        row.team_id,
        groups,
        defaults,
        key_id=row.id,
        key_expires_at=None if expires_at is None else expires_at.timestamp(),
        key_groups=None if row.model_groups is None else frozenset(row.model_groups),
    )


async def team_principal(conn: AsyncConnection, team_id: str) -> Principal | None:
    """The team acting as itself (no key): the gateway settling the team's work."""
    row = await store.team_row(conn, team_id)
    if row is None:
        return None
    groups = await store.team_groups(conn, team_id)
    return _principal(row, row.id, groups, DefaultLimits())


def _principal(
    team: Any,
    team_id: str,
    groups: list[str],
    defaults: DefaultLimits,
    *,
    key_id: str = "",
    key_expires_at: float | None = None,
    key_groups: frozenset[str] | None = None,
) -> Principal:
    return Principal(
        key_id=key_id,
        team_id=team_id,
        organization_id=team.organization_id,
        team_status=team.status,
        budget_mode=team.budget_mode,
        credits_per_job=team.credits_per_job,
        default_model_group=team.default_model_group,
        allowed_groups=frozenset(groups),
        rpm_limit=team.rpm_limit or defaults.rpm_limit,
        max_concurrent_streams=team.max_concurrent_streams or defaults.max_concurrent_streams,
        tokens_per_credit=int(team.tokens_per_credit),
        credits_per_dollar=float(team.credits_per_dollar),
        markup_percent=float(team.markup_percent),
        overdraft_limit=int(team.overdraft_limit),
        key_expires_at=key_expires_at,
        key_groups=key_groups,
    )


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed(
            "missing Authorization header (Bearer <key>)", code=ErrorCode.MISSING_API_KEY
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("Authorization must be 'Bearer <key>'")
    return token
