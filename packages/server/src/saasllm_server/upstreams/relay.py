"""The fast path: OpenAI-wire upstreams relayed as bytes over one shared aiohttp session.

Per event the only work is a prefix check and, on the single usage event, one
orjson parse. httpx's pool degrades at 64 concurrent streams on this kind of
machine (encode/httpcore#1035); aiohttp holds, so it carries the hot path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from saasllm_server.upstreams.router import Deployment
from saasllm_server.upstreams.streams import StreamStats, UpstreamFailure, parse_retry_after

_MAX_ERROR_BODY = 4096


class _Target:
    """A deployment's URL and headers, built once: parsing a URL string per request costs
    aiohttp more than sending the request."""

    __slots__ = ("headers", "url")

    def __init__(self, deployment: Deployment) -> None:
        self.url = URL(deployment.chat_url)
        self.headers = CIMultiDict({"Content-Type": "application/json"})
        if deployment.api_key:
            self.headers["Authorization"] = f"Bearer {deployment.api_key}"


def _error_message(status: int, raw: bytes) -> str:
    try:
        body = orjson.loads(raw)
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    except orjson.JSONDecodeError:
        message = None
    text = message or raw.decode("utf-8", "replace")
    return f"upstream answered {status}: {text}"[:500]


class RawRelay:
    """Owns the upstream HTTP session; one per worker process."""

    def __init__(self, connect_timeout_s: float, read_timeout_s: float) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._targets: dict[Deployment, _Target] = {}

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout_s, sock_read=self._read_timeout_s
            ),
            json_serialize=lambda obj: orjson.dumps(obj).decode(),
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, deployment: Deployment, body: dict[str, Any]) -> aiohttp.ClientResponse:
        assert self._session is not None, "RawRelay.start() was not awaited"
        target = self._targets.get(deployment)
        if target is None:
            target = self._targets[deployment] = _Target(deployment)
        try:
            response = await self._session.post(
                target.url, data=orjson.dumps(body), headers=target.headers
            )
        except TimeoutError as exc:
            raise UpstreamFailure(504, f"upstream {deployment.id} did not answer in time") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(502, f"upstream {deployment.id} unreachable: {exc}") from exc
        if response.status != 200:
            try:
                raw = await response.content.read(_MAX_ERROR_BODY)
            except (aiohttp.ClientError, TimeoutError):
                raw = b""
            response.release()
            headers = {k.lower(): v for k, v in response.headers.items()}
            raise UpstreamFailure(
                response.status,
                _error_message(response.status, raw),
                headers=headers,
                retry_after=parse_retry_after(headers.get("retry-after")),
            )
        return response

    async def open_stream(
        self, deployment: Deployment, body: dict[str, Any], *, forward_usage: bool
    ) -> RawStream:
        response = await self._post(deployment, body)
        return RawStream(deployment, response, forward_usage)

    async def complete(self, deployment: Deployment, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._post(deployment, body)
        try:
            raw = await response.read()
        except TimeoutError as exc:
            raise UpstreamFailure(504, f"upstream {deployment.id} timed out") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(502, f"upstream {deployment.id} broke off: {exc}") from exc
        finally:
            response.release()
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamFailure(502, f"upstream {deployment.id} sent invalid JSON") from exc
        if not isinstance(parsed, dict):
            raise UpstreamFailure(502, f"upstream {deployment.id} sent a non-object answer")
        return parsed


class RawStream:
    __slots__ = ("deployment", "forward_usage", "response", "stats")

    def __init__(
        self, deployment: Deployment, response: aiohttp.ClientResponse, forward_usage: bool
    ) -> None:
        self.deployment = deployment
        self.response = response
        self.forward_usage = forward_usage
        self.stats = StreamStats()

    async def events(self) -> AsyncIterator[list[bytes]]:
        stats = self.stats
        content = self.response.content
        pending = b""
        try:
            # Whatever bytes one read brought, split into lines here (cheaper than aiohttp's
            # readline per line) and handed on together: one send for what arrived together.
            async for piece in content.iter_any():
                if b"\n" not in piece:
                    pending += piece
                    continue
                *lines, pending = (pending + piece).split(b"\n")
                batch: list[bytes] = []
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue  # blank separators, comments, event names
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        stats.done = True
                        break
                    if stats.first_event_at is None:
                        stats.first_event_at = time.perf_counter()
                    stats.data_events += 1
                    if b'"usage":{' in payload and self._hold_back_usage(payload):
                        continue
                    batch.append(b"data: " + payload + b"\n\n")
                if batch:
                    yield batch
                if stats.done:
                    return
        except TimeoutError as exc:
            stats.error = UpstreamFailure(504, f"upstream {self.deployment.id} went silent")
            raise stats.error from exc
        except (aiohttp.ClientError, ValueError) as exc:
            stats.error = UpstreamFailure(502, f"upstream {self.deployment.id} broke off: {exc}")
            raise stats.error from exc
        stats.error = UpstreamFailure(502, f"upstream {self.deployment.id} ended without [DONE]")
        raise stats.error

    def _hold_back_usage(self, payload: bytes) -> bool:
        """Keep the usage numbers; forward the usage-only event only if the client asked."""
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return False
        if isinstance(chunk, dict) and isinstance(chunk.get("usage"), dict):
            self.stats.usage = chunk["usage"]
            return not chunk.get("choices") and not self.forward_usage
        return False

    async def aclose(self) -> None:
        # Closing (not releasing) drops the connection, so the upstream stops generating.
        if not self.stats.done:
            self.response.close()
        else:
            self.response.release()
        await asyncio.sleep(0)
