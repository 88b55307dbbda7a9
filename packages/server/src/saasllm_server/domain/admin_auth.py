"""Who may use the admin API, and for what.

Two kinds of admin credential: the operator's root key from the environment
(``SAASLLM_ADMIN_KEY``, scope ``full``) and admin API keys created through the
API, stored hashed, each with a scope:

* ``read``: reading teams, keys (never secrets), ledgers, usage and jobs;
* ``billing``: ``read`` plus moving credits;
* ``full``: everything, including keys, teams, admin keys and the audit log.

A team's virtual key is recognised and refused with 403, so a leaked team key
never acts as an admin; anything else is 401.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import AdminScope, ErrorCode
from saasllm_server.domain.auth import DefaultLimits, bearer_token, principal_of
from saasllm_server.domain.tenancy import hash_key
from saasllm_server.errors import AuthenticationFailed, InsufficientScope, TeamKeyNotAdmin
from saasllm_server.storage import admin_keys
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import utcnow

_RANK: dict[str, int] = {"read": 0, "billing": 1, "full": 2}
_NONE = DefaultLimits()


@dataclass(frozen=True, slots=True)
class AdminActor:
    """Recorded as the actor of every change: ``admin:env`` or ``admin:<key id>``."""

    name: str
    scope: AdminScope

    def require(self, scope: AdminScope) -> None:
        if _RANK[self.scope] < _RANK[scope]:
            raise InsufficientScope(f"this admin key has scope {self.scope!r}; {scope!r} needed")


class AdminAuthenticator:
    def __init__(self, engine: AsyncEngine, root_key: SecretStr | None) -> None:
        self._engine = engine
        self._root = None if root_key is None else root_key.get_secret_value().encode()

    async def authenticate(self, authorization: str | None) -> AdminActor:
        token = bearer_token(authorization)
        if self._root is not None and secrets.compare_digest(token.encode(), self._root):
            return AdminActor("admin:env", "full")
        key_hash = hash_key(token)
        async with self._engine.connect() as conn:
            row = await admin_keys.find(conn, key_hash)
            if row is not None:
                return AdminActor(f"admin:{row.id}", row.scope)
            team_key = await store.find_key(conn, key_hash)
        if team_key is not None and principal_of(*team_key, now=utcnow(), defaults=_NONE):
            raise TeamKeyNotAdmin("a team key cannot use the admin API")
        raise AuthenticationFailed("invalid admin key", code=ErrorCode.INVALID_ADMIN_KEY)
