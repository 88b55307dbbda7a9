"""Virtual-key authentication with a short-lived in-process cache.

The cache saves one query per request on the hot path. Admin actions that
change a key or a team invalidate it at once on this process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from saasllm_schema import ErrorCode
from saasllm_server.domain.tenancy import Principal, hash_key
from saasllm_server.errors import AuthenticationFailed, TeamSuspended

Lookup = Callable[[str], Awaitable[Principal | None]]

_MAX_ENTRIES = 100_000


class KeyAuthenticator:
    def __init__(self, lookup: Lookup, ttl_s: float) -> None:
        self._lookup = lookup
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        secret = bearer_token(authorization)
        key_hash = hash_key(secret)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            found = await self._lookup(key_hash)
            if found is None:
                self._cache.pop(key_hash, None)
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

    def invalidate_key(self, key_id: str) -> None:
        for key_hash in [h for h, (_, p) in self._cache.items() if p.key_id == key_id]:
            del self._cache[key_hash]

    def invalidate_team(self, team_id: str) -> None:
        for key_hash in [h for h, (_, p) in self._cache.items() if p.team_id == team_id]:
            del self._cache[key_hash]

    def clear(self) -> None:
        self._cache.clear()


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
