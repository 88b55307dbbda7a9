"""The gateway's long-lived parts, built once at start-up and shared by every request.

This is where the caches are subscribed to the change events: the domain
services publish, the caches listen, and no route touches a cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_server.domain.admin_auth import AdminAuthenticator
from saasllm_server.domain.auth import DefaultLimits, KeyAuthenticator
from saasllm_server.domain.calls import CallService
from saasllm_server.domain.credits import CreditService
from saasllm_server.domain.events import EventBus, InProcessEventBus
from saasllm_server.domain.jobs import JobService
from saasllm_server.domain.keys import KeyService
from saasllm_server.domain.model_groups import ModelGroupCatalog, ModelGroupService
from saasllm_server.domain.ratelimit import InProcessRateLimiter, RateLimiter
from saasllm_server.domain.reports import ReportService
from saasllm_server.domain.resume import InProcessResumeStore, ResumeStore
from saasllm_server.domain.single_call import OneCallJobs
from saasllm_server.domain.sweeper import JobSweeper
from saasllm_server.domain.teams import TenancyService
from saasllm_server.domain.writes import ChangeWriter
from saasllm_server.settings import Settings
from saasllm_server.upstreams.config import GatewayConfig
from saasllm_server.upstreams.litellm_path import LitellmPath
from saasllm_server.upstreams.relay import RawRelay


@dataclass
class Gateway:
    settings: Settings
    config: GatewayConfig
    engine: AsyncEngine
    bus: EventBus
    relay: RawRelay
    catalog: ModelGroupCatalog
    limiter: RateLimiter
    auth: KeyAuthenticator
    admin_auth: AdminAuthenticator
    jobs: JobService
    calls: CallService
    one_call: OneCallJobs
    sweeper: JobSweeper
    resume: ResumeStore
    tenancy: TenancyService
    keys: KeyService
    credits: CreditService
    model_groups: ModelGroupService
    reports: ReportService

    @classmethod
    def build(
        cls,
        settings: Settings,
        config: GatewayConfig,
        engine: AsyncEngine,
        bus: EventBus | None = None,
    ) -> Gateway:
        bus = bus or InProcessEventBus()
        writer = ChangeWriter(engine, bus)
        relay = RawRelay(settings.upstream_connect_timeout_s, settings.upstream_read_timeout_s)
        catalog = ModelGroupCatalog()
        limiter = InProcessRateLimiter()
        model_groups = ModelGroupService(
            writer, catalog, config, use_router=lambda router: calls.use_router(router)
        )
        jobs = JobService(
            engine,
            cache_ttl_s=settings.admission_cache_ttl_s,
            record_window_s=settings.record_window_s,
            complete_wait_s=settings.complete_wait_s,
            progress_interval_s=settings.call_progress_interval_s,
            waive_upstream_failures=settings.waive_upstream_failures,
        )
        calls = CallService(
            jobs=jobs,
            catalog=catalog,
            router=model_groups.router,
            relay=relay,
            litellm_path=LitellmPath(),
            limiter=limiter,
            first_chunk_timeout_s=settings.first_chunk_timeout_s,
            default_max_tokens=settings.hold_max_tokens,
        )
        auth = KeyAuthenticator(
            engine,
            settings.key_cache_ttl_s,
            DefaultLimits(settings.default_rpm_limit, settings.default_max_concurrent_streams),
        )
        tenancy = TenancyService(writer, catalog)
        # Groups reload before the key cache drops its access lists, so a request that
        # misses the cache finds the new groups.
        bus.subscribe(model_groups.on_change)
        bus.subscribe(auth.on_change)
        bus.subscribe(jobs.on_change)
        return cls(
            settings=settings,
            config=config,
            engine=engine,
            bus=bus,
            relay=relay,
            catalog=catalog,
            limiter=limiter,
            auth=auth,
            admin_auth=AdminAuthenticator(engine, settings.admin_key),
            jobs=jobs,
            calls=calls,
            one_call=OneCallJobs(jobs, calls, catalog),
            sweeper=JobSweeper(engine, jobs, settings.job_idle_timeout_s),
            resume=InProcessResumeStore(),
            tenancy=tenancy,
            keys=KeyService(writer, tenancy),
            credits=CreditService(writer, tenancy),
            model_groups=model_groups,
            reports=ReportService(engine, jobs),
        )
