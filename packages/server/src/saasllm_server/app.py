"""The FastAPI application factory and its start-up: migrate, apply the bootstrap, warm up."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from saasllm_server import __version__
from saasllm_server.api import admin, errors, health, jobs, openai_compat, schema_docs
from saasllm_server.api.body_limit import BodyLimitMiddleware
from saasllm_server.api.nul_guard import NulGuardMiddleware
from saasllm_server.api.sse import EventStreams
from saasllm_server.api.text_guard import TextGuardMiddleware
from saasllm_server.bootstrap import apply_bootstrap
from saasllm_server.services import Gateway
from saasllm_server.settings import Settings
from saasllm_server.storage.database import create_engine, migrate
from saasllm_server.upstreams import tokens
from saasllm_server.upstreams.config import GatewayConfig

log = logging.getLogger("saasllm")


def load_config(settings: Settings) -> GatewayConfig:
    if settings.config_file is None:
        return GatewayConfig()
    return GatewayConfig.load(settings.config_file)


def create_app(
    settings: Settings | None = None,
    config: GatewayConfig | None = None,
    *,
    on_shutdown: Sequence[Callable[[], object]] = (),
) -> FastAPI:
    """``on_shutdown`` runs after the gateway stops serving (the demo stops its model there:
    uvicorn re-raises SIGTERM after shutdown, so code after ``uvicorn.run`` never runs)."""
    settings = settings or Settings()
    config = config or load_config(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await migrate(engine)
        await apply_bootstrap(engine, config)
        gateway = Gateway.build(settings, config, engine)
        await gateway.model_groups.reload()
        await gateway.relay.start()
        tokens.warm_up()
        app.state.gateway = gateway
        # Made here, on the loop that serves: the sweeper task and its pings belong to it.
        streams = EventStreams(settings)
        app.state.event_streams = streams
        # Jobs a crashed process left open are settled before serving, then swept for good.
        await gateway.sweeper.sweep()
        leases = asyncio.create_task(gateway.sweeper.run(), name="saasllm-job-leases")
        # litellm's import leaves ~1M long-lived objects (pricing map, provider tables);
        # without this every full collection walks them all again while serving.
        gc.collect()
        gc.freeze()
        log.info("saasllm gateway ready (%d deployments)", len(config.model_list))
        try:
            yield
        finally:
            leases.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leases
            await streams.close()
            await gateway.relay.close()
            await gateway.jobs.close()
            await engine.dispose()
            for hook in on_shutdown:
                await asyncio.to_thread(hook)  # e.g. stopping a child process: it waits

    app = FastAPI(
        title="saasllm gateway",
        version=__version__,
        description="Self-hosted LLM gateway: jobs, credits, streaming through litellm.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry hook asks the environment for a tracer on every
        # request (measured: 8% of the gateway's CPU under load); on only when wanted.
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(openai_compat.router)
    for router in admin.routers:
        app.include_router(router)
    schema_docs.install(app, publish_admin=settings.publish_admin_schema)
    # The last added runs first: URLs, then the body's size, then its text.
    app.add_middleware(TextGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(NulGuardMiddleware)
    return app
