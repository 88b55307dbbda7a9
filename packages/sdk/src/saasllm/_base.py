"""What every client holds and decides about a request, with no I/O.

The async and the sync transport wrap the same decisions in their one request
loop each: which headers an attempt carries, and whether (and after how long)
a failed attempt goes out again. The job client and the admin client differ
only in their key and their endpoints.
"""

from __future__ import annotations

import os
from typing import Generic, TypeVar
from uuid import uuid4

import httpx

from saasllm._endpoints import Endpoint
from saasllm._policy import (
    Resend,
    build_timeout,
    is_retryable_exception,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
)
from saasllm._requests import USER_AGENT

__all__ = ["BaseClient"]

_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)


class BaseClient(Generic[_HttpT]):
    base_url: str
    max_retries: int
    timeout: httpx.Timeout
    _http: _HttpT

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        key_name: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        http_client: _HttpT | None,
    ) -> None:
        url = base_url or os.environ.get("SAASLLM_BASE_URL")
        if not url:
            raise ValueError("base_url is required (or set SAASLLM_BASE_URL)")
        key_env = f"SAASLLM_{key_name.upper()}"
        key = api_key or os.environ.get(key_env)
        if not key:
            raise ValueError(f"{key_name} is required (or set {key_env})")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = url.rstrip("/")
        self.max_retries = max_retries
        self.timeout = build_timeout(timeout)
        self._headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        # A client passed in is the caller's to close.
        self._owns_http = http_client is None
        self._http = http_client or self._new_http()

    def _new_http(self) -> _HttpT:
        raise NotImplementedError

    def __repr__(self) -> str:
        # Never show the key.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _url(self, endpoint: Endpoint) -> str:
        return f"{self.base_url}{endpoint.path}"

    def _idempotency_key(self, endpoint: Endpoint, given: str | None) -> str | None:
        """One key per call, reused by every attempt: that is what makes a repeat harmless."""
        if endpoint.resend is not Resend.KEYED:
            return None
        return given or str(uuid4())

    def _attempt_headers(
        self,
        retries_taken: int,
        idempotency_key: str | None,
        *,
        json_body: bool,
        extra: dict[str, str] | None,
    ) -> dict[str, str]:
        """The gateway sees which attempt this is, and de-duplicates keyed ones."""
        headers = {**self._headers, "x-saasllm-retry-count": str(retries_taken)}
        if json_body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if extra:
            headers.update(extra)
        return headers

    def _delay_after_exception(
        self, endpoint: Endpoint, exc: httpx.RequestError, retries_taken: int
    ) -> float | None:
        """Seconds to wait before resending after a transport failure; None: raise it."""
        if not is_retryable_exception(endpoint.resend, exc):
            return None
        return retry_delay(
            retries_taken=retries_taken, max_retries=self.max_retries, retry_after=None
        )

    def _delay_after_answer(
        self, endpoint: Endpoint, response: httpx.Response, retries_taken: int
    ) -> float | None:
        """Seconds to wait before resending after an error status; None: raise it."""
        if not is_retryable_status(endpoint.resend, response.status_code, response.headers):
            return None
        return retry_delay(
            retries_taken=retries_taken,
            max_retries=self.max_retries,
            retry_after=parse_retry_after(response.headers),
        )
