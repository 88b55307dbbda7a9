# Generated from _api_client.py by scripts/generate_sync.py; do not edit.
"""The blocking transport: the one request loop that every blocking endpoint goes through.

:class:`~saasllm.SyncSaaSLLMClient` (the job API) and :class:`~saasllm.SyncSaaSLLMAdmin`
(the admin API) are groups of endpoints over it. What an attempt carries and
whether a failure is worth another attempt is decided in
:class:`~saasllm._base.BaseClient`; only the waiting and the socket calls are here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from saasllm._base import BaseClient
from saasllm._endpoints import Endpoint
from saasllm._errors import status_error_from_response, wrap_transport_error
from saasllm._requests import encode, parse_response
from saasllm._sync_closing import Closing

__all__ = ["SyncAPIClient"]

_T = TypeVar("_T")


class SyncAPIClient(Closing, BaseClient[httpx.Client]):
    def _new_http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        """Close the connection pool, unless it belongs to an ``http_client`` you passed in."""
        if self._owns_http:
            self._http.close()

    def _request(
        self,
        endpoint: Endpoint,
        *,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send until a success, an answer not worth repeating, or the retries run out.

        The success comes back read and closed, or with ``stream=True`` unread for
        the caller to iterate and close. Nothing is retried once a success body is
        being read by the caller: a stream that breaks later is the stream's to resume.
        """
        url = self._url(endpoint)
        key = self._idempotency_key(endpoint, idempotency_key)
        retries_taken = 0
        while True:
            request = self._http.build_request(
                endpoint.method,
                url,
                params=params,
                content=content,
                headers=self._attempt_headers(
                    retries_taken, key, json_body=content is not None, extra=headers
                ),
                timeout=self.timeout,
            )
            try:
                response = self._http.send(request, stream=True)
                if not (stream and response.is_success):
                    # An error body is read too, so that e.response.json() works.
                    try:
                        response.read()
                    finally:
                        response.close()
            except httpx.RequestError as exc:
                delay = self._delay_after_exception(endpoint, exc, retries_taken)
                if delay is None:
                    raise wrap_transport_error(exc, request) from exc
            else:
                if response.is_success:
                    return response
                delay = self._delay_after_answer(endpoint, response, retries_taken)
                if delay is None:
                    raise status_error_from_response(response)
            time.sleep(delay)
            retries_taken += 1

    def _call(
        self,
        endpoint: Endpoint,
        cast_to: type[_T],
        *,
        body: BaseModel | Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> _T:
        """One request whose success body is read as ``cast_to``."""
        response = self._request(
            endpoint,
            content=None if body is None else encode(body),
            params=params,
            idempotency_key=idempotency_key,
        )
        return parse_response(cast_to, response)
