"""Request-scoped access to the gateway's services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from saasllm_server.domain.tenancy import Principal
from saasllm_server.services import Gateway


async def gateway(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain ``def`` dependency on a worker thread.
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(gateway)]


async def principal(
    gw: GatewayDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return await gw.auth.authenticate(authorization)


PrincipalDep = Annotated[Principal, Depends(principal)]
