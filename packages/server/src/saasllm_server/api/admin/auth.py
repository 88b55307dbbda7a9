"""The admin API's credentials as route dependencies: ``Reader``, ``Biller``, ``Operator``
(scopes ``read``, ``billing``, ``full``; see ``domain.admin_auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from saasllm_schema import AdminScope
from saasllm_server.api.deps import GatewayDep
from saasllm_server.domain.admin_auth import AdminActor
from saasllm_server.services import Gateway

__all__ = ["AdminActor", "Biller", "Operator", "Reader", "authenticate_admin"]


async def authenticate_admin(gw: Gateway, authorization: str | None) -> AdminActor:
    return await gw.admin_auth.authenticate(authorization)


def _scoped(scope: AdminScope) -> object:
    async def dependency(
        gw: GatewayDep,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> AdminActor:
        actor = await gw.admin_auth.authenticate(authorization)
        actor.require(scope)
        return actor

    return Depends(dependency)


Reader = Annotated[AdminActor, _scoped("read")]
Biller = Annotated[AdminActor, _scoped("billing")]
Operator = Annotated[AdminActor, _scoped("full")]
