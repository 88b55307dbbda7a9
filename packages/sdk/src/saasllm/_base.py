"""Configuration and job bookkeeping shared by the async and the sync client."""

from __future__ import annotations

import os

import httpx

from saasllm._compat import resolve_base_url
from saasllm._policy import build_timeout
from saasllm._requests import base_headers, job_url, require_job_id

__all__ = ["BaseClient"]


class BaseClient:
    """Holds what both clients need and does no I/O.

    ``current_job_id`` is per client, not per call: it is only the default for
    methods called without ``job_id``. Streams never store anything here, so
    several can run at once on one client.
    """

    base_url: str
    team_id: str | None
    max_retries: int
    timeout: httpx.Timeout
    current_job_id: str | None

    def __init__(
        self,
        base_url: str | None,
        team_id: str | None,
        virtual_key: str | None,
        *,
        api_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
    ) -> None:
        url = resolve_base_url(base_url, api_url) or os.environ.get("SAASLLM_BASE_URL")
        if not url:
            raise ValueError("base_url is required (or set SAASLLM_BASE_URL)")
        key = virtual_key or os.environ.get("SAASLLM_VIRTUAL_KEY")
        if not key:
            raise ValueError("virtual_key is required (or set SAASLLM_VIRTUAL_KEY)")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = url.rstrip("/")
        self.team_id = team_id or os.environ.get("SAASLLM_TEAM_ID") or None
        self.max_retries = max_retries
        self.timeout = build_timeout(timeout)
        self.current_job_id = None
        self._headers = base_headers(key, self.team_id)

    def __repr__(self) -> str:
        # Never show the key.
        return f"{type(self).__name__}(base_url={self.base_url!r}, team_id={self.team_id!r})"

    def _job_id(self, job_id: str | None) -> str:
        return require_job_id(job_id, self.current_job_id)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _job_url(self, job_id: str, action: str = "") -> str:
        return job_url(self.base_url, job_id, action)

    def _forget_job(self, job_id: str) -> None:
        if self.current_job_id == job_id:
            self.current_job_id = None
