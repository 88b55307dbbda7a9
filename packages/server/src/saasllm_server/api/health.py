"""Liveness and readiness for load balancers and the test harness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from saasllm_server.api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(gw: GatewayDep) -> dict[str, str]:
    async with gw.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}
