"""Request-scoped access to the gateway's services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from saasllm_server.api.sse import EventStreams
from saasllm_server.domain.single_call import OneCallJobs
from saasllm_server.domain.tenancy import Principal
from saasllm_server.services import Gateway


async def gateway(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain ``def`` dependency on a worker thread.
    gw: Gateway = request.app.state.gateway
    return gw


async def event_streams(request: Request) -> EventStreams:
    """The app's open SSE streams, made by its lifespan (they live on the serving loop)."""
    streams: EventStreams = request.app.state.event_streams
    return streams


async def one_call_jobs(request: Request) -> OneCallJobs:
    gw: Gateway = request.app.state.gateway
    return gw.one_call


GatewayDep = Annotated[Gateway, Depends(gateway)]
EventStreamsDep = Annotated[EventStreams, Depends(event_streams)]
OneCallJobsDep = Annotated[OneCallJobs, Depends(one_call_jobs)]


def client_address(request: Request) -> str | None:
    """The peer's address: the key check slows down an address whose keys keep failing."""
    client = request.client
    return client.host if client is not None else None


async def principal(
    request: Request,
    gw: GatewayDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return await gw.auth.authenticate(authorization, client=client_address(request))


PrincipalDep = Annotated[Principal, Depends(principal)]
