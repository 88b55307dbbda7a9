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
from typing import Annotated

from fastapi import Depends, Header

from saasllm_schema import AdminScope, ErrorCode
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.auth import bearer_token
from saasllm_server.domain.tenancy import hash_key
from saasllm_server.errors import AuthenticationFailed, InsufficientScope, TeamKeyNotAdmin
from saasllm_server.services import Gateway
from saasllm_server.storage import admin_keys
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import utcnow

_RANK: dict[str, int] = {"read": 0, "billing": 1, "full": 2}


@dataclass(frozen=True, slots=True)
class AdminActor:
    """Recorded as the actor of every change: ``admin:env`` or ``admin:<key id>``."""

    name: str
    scope: AdminScope


async def authenticate_admin(gw: Gateway, authorization: str | None) -> AdminActor:
    token = bearer_token(authorization)
    expected = gw.settings.admin_key
    if expected is not None and secrets.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        return AdminActor("admin:env", "full")
    key_hash = hash_key(token)
    async with gw.engine.connect() as conn:
        row = await admin_keys.find(conn, key_hash)
        if row is not None:
            return AdminActor(f"admin:{row.id}", row.scope)
        team_key = await store.find_principal(conn, key_hash, utcnow())
    if team_key is not None:
        raise TeamKeyNotAdmin("a team key cannot use the admin API")
    raise AuthenticationFailed("invalid admin key", code=ErrorCode.INVALID_ADMIN_KEY)


def _scoped(scope: AdminScope) -> object:
    async def dependency(
        gw: GatewayDep,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> AdminActor:
        actor = await authenticate_admin(gw, authorization)
        if _RANK[actor.scope] < _RANK[scope]:
            raise InsufficientScope(f"this admin key has scope {actor.scope!r}; {scope!r} needed")
        return actor

    return Depends(dependency)


Reader = Annotated[AdminActor, _scoped("read")]
Biller = Annotated[AdminActor, _scoped("billing")]
Operator = Annotated[AdminActor, _scoped("full")]
