"""The gateway's long-lived parts, built once at start-up and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import ModelGroupMember, ModelGroupSpec
from saasllm_server.domain.auth import KeyAuthenticator
from saasllm_server.domain.calls import CallService
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.model_groups import ModelGroupCatalog
from saasllm_server.domain.ratelimit import InProcessRateLimiter, RateLimiter
from saasllm_server.domain.resume import InProcessResumeStore, ResumeStore
from saasllm_server.domain.tenancy import Principal
from saasllm_server.settings import Settings
from saasllm_server.storage import tenancy as tenancy_store
from saasllm_server.storage.database import utcnow
from saasllm_server.upstreams.config import DeploymentConfig, GatewayConfig
from saasllm_server.upstreams.litellm_path import LitellmPath
from saasllm_server.upstreams.relay import RawRelay
from saasllm_server.upstreams.router import IN_GROUP, ModelRouter


@dataclass
class Gateway:
    settings: Settings
    config: GatewayConfig
    engine: AsyncEngine
    router: ModelRouter
    relay: RawRelay
    catalog: ModelGroupCatalog
    limiter: RateLimiter
    auth: KeyAuthenticator
    jobs: JobService
    calls: CallService
    resume: ResumeStore
    inline: list[DeploymentConfig] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, config: GatewayConfig, engine: AsyncEngine) -> Gateway:
        router = ModelRouter(config.model_list, config.router_settings)
        relay = RawRelay(settings.upstream_connect_timeout_s, settings.upstream_read_timeout_s)
        catalog = ModelGroupCatalog()
        limiter = InProcessRateLimiter()

        async def lookup(key_hash: str) -> Principal | None:
            async with engine.connect() as conn:
                found = await tenancy_store.find_principal(conn, key_hash, utcnow())
            if found is None:
                return None
            return _with_default_limits(found, settings)

        jobs = JobService(
            engine,
            cache_ttl_s=settings.admission_cache_ttl_s,
            record_window_s=settings.record_window_s,
            complete_wait_s=settings.complete_wait_s,
        )
        calls = CallService(
            jobs=jobs,
            catalog=catalog,
            router=router,
            relay=relay,
            litellm_path=LitellmPath(),
            limiter=limiter,
            first_chunk_timeout_s=settings.first_chunk_timeout_s,
            default_max_tokens=settings.hold_max_tokens,
        )
        return cls(
            settings=settings,
            config=config,
            engine=engine,
            router=router,
            relay=relay,
            catalog=catalog,
            limiter=limiter,
            auth=KeyAuthenticator(lookup, settings.key_cache_ttl_s),
            jobs=jobs,
            calls=calls,
            resume=InProcessResumeStore(),
        )

    async def reload_model_groups(self) -> None:
        """Groups from the database; deployments defined in a group join the router, which
        is rebuilt (fresh cooldowns) only when that set changed."""
        async with self.engine.connect() as conn:
            specs = await tenancy_store.load_model_groups(conn)
        inline = inline_deployments(specs)
        if inline != self.inline:
            router = ModelRouter([*self.config.model_list, *inline], self.config.router_settings)
            self.router = router
            self.calls.use_router(router)
            self.inline = inline
        self.catalog.replace(specs)


def inline_deployments(specs: list[ModelGroupSpec]) -> list[DeploymentConfig]:
    """The ``model_list`` entries of members defined inside groups."""
    return [
        DeploymentConfig(
            model_name=spec.member_key(member),
            litellm_params=member.litellm_params,
            model_info={"id": spec.member_key(member), IN_GROUP: True},
        )
        for spec in specs
        for member in spec.members
        if isinstance(member, ModelGroupMember)
    ]


def _with_default_limits(principal: Principal, settings: Settings) -> Principal:
    from dataclasses import replace

    return replace(
        principal,
        rpm_limit=principal.rpm_limit or settings.default_rpm_limit,
        max_concurrent_streams=principal.max_concurrent_streams
        or settings.default_max_concurrent_streams,
    )
