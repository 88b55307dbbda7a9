"""The operator's admin API: tenancy, keys, credits and reports, under ``/admin``."""

from saasllm_server.api.admin import credits, keys, reports, tenancy

routers = (tenancy.router, keys.router, credits.router, reports.router)

__all__ = ["routers"]
