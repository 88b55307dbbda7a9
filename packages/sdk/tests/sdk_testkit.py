"""Helpers for SDK tests. Every HTTP exchange goes over a real socket.

The SDK under test talks to a real gateway process (``tests.support.gateway``)
whose answers come from the real fake upstream. Nothing here stands in for the
gateway: the helpers record what the SDK sent (httpx event hooks on the
``http_client`` a test passes in), read the fake upstream's counters, build
gateway configurations, and provide the network conditions a gateway cannot:
a port that refuses connections and then starts forwarding to the gateway, a
third-party server that answers HTML, and a proxy that answers 503 itself or
loses the gateway's answer.

``chunk``/``usage_chunk`` build wire dicts for the pure accumulator tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from saasllm import (
    AsyncChatStream,
    ChatStream,
    SaaSLLMAdmin,
    SaaSLLMClient,
    SyncSaaSLLMAdmin,
    SyncSaaSLLMClient,
)
from tests.support.gateway import ADMIN_KEY, GatewayProcess, test_config
from tests.support.tenants import TEST_GROUPS, TeamHandle

Client = SaaSLLMClient | SyncSaaSLLMClient
AdminClient = SaaSLLMAdmin | SyncSaaSLLMAdmin
Stream = AsyncChatStream | ChatStream

POEM = "Write a short poem about Python"
MESSAGES = [{"role": "user", "content": POEM}]
# The `slow` group sends a token every 200 ms: this answer takes about a minute,
# so a test that stops reading early is certainly done long before it ends.
LONG = "Write a technical blog post about microservices (500 words)"
LONG_MESSAGES = [{"role": "user", "content": LONG}]

# Groups only the dedicated faults gateway has (see ``faults_config``).
FAULT_GROUPS = ["badjson", "ratelimited-long"]


# --- wire dicts for pure tests ----------------------------------------------------


def chunk(
    content: str = "", *, finish: str | None = None, index: int = 0, **delta: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [
            {"index": index, "delta": {"content": content, **delta}, "finish_reason": finish}
        ],
    }


def usage_chunk(prompt: int = 3, completion: int = 5) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


# --- what the SDK sent ------------------------------------------------------------


class Recorder:
    """Every request the SDK hands to httpx and every response it gets back.

    Request hooks run before the connection is made, so attempts that never
    reach a server (connection refused) are recorded too.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def on_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    def clear(self) -> None:
        self.requests.clear()
        self.responses.clear()

    def body(self, n: int = -1) -> Any:
        return json.loads(self.requests[n].content)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def retry_counts(self) -> list[str]:
        return [r.headers["x-saasllm-retry-count"] for r in self.requests]

    def stream_responses(self) -> list[httpx.Response]:
        return [r for r in self.responses if r.request.url.path.endswith("/llm-call-stream")]


RequestHook = Callable[[httpx.Request], None]
OpenJob = Callable[..., Awaitable[tuple[Client, str]]]


class ClientFactory:
    """Real clients of one kind (async or sync) whose requests a ``Recorder`` sees.

    ``request_hooks`` run on every request the clients made from now on send
    (after the recorder's). The SDK does not close an ``http_client`` it was
    given; :meth:`aclose` does.
    """

    def __init__(self, kind: str, recorder: Recorder) -> None:
        self.kind = kind
        self.recorder = recorder
        self.request_hooks: list[RequestHook] = [recorder.on_request]
        self._http: list[httpx.Client | httpx.AsyncClient] = []

    def _http_client(self) -> httpx.Client | httpx.AsyncClient:
        hooks = list(self.request_hooks)
        http: httpx.Client | httpx.AsyncClient
        if self.kind == "async":

            async def on_request(request: httpx.Request) -> None:
                for hook in hooks:
                    hook(request)

            async def on_response(response: httpx.Response) -> None:
                self.recorder.on_response(response)

            http = httpx.AsyncClient(
                event_hooks={"request": [on_request], "response": [on_response]}
            )
        else:
            http = httpx.Client(
                event_hooks={"request": hooks, "response": [self.recorder.on_response]}
            )
        self._http.append(http)
        return http

    def __call__(self, base_url: str, team: TeamHandle, **options: Any) -> Client:
        http = self._http_client()
        if isinstance(http, httpx.AsyncClient):
            return SaaSLLMClient(base_url, team.team_id, team.key, http_client=http, **options)
        return SyncSaaSLLMClient(base_url, team.team_id, team.key, http_client=http, **options)

    async def with_job(self, base_url: str, team: TeamHandle, **options: Any) -> tuple[Client, str]:
        """A client with a job open, and the recorder cleared of opening it."""
        client = self(base_url, team, **options)
        job_id: str = await resolve(client.create_job("demo"))
        self.recorder.clear()
        return client, job_id

    def admin(self, base_url: str, admin_key: str = ADMIN_KEY, **options: Any) -> AdminClient:
        http = self._http_client()
        if isinstance(http, httpx.AsyncClient):
            return SaaSLLMAdmin(base_url, admin_key, http_client=http, **options)
        return SyncSaaSLLMAdmin(base_url, admin_key, http_client=http, **options)

    async def aclose(self) -> None:
        for http in self._http:
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            else:
                http.close()


async def resolve(value: Any) -> Any:
    """Await what the async client returns; pass the sync client's results through."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Stream, into: list[Any] | None = None) -> list[Any]:
    """Iterate either kind of stream; ``into`` keeps what arrived even if iteration raises."""
    seen: list[Any] = [] if into is None else into
    if isinstance(stream, AsyncChatStream):
        async for item in stream:
            seen.append(item)
    else:
        for item in stream:
            seen.append(item)
    return seen


async def close_stream(stream: Stream) -> None:
    if isinstance(stream, AsyncChatStream):
        await stream.aclose()
    else:
        stream.close()


def contents(chunks: list[Any]) -> list[str]:
    """The non-empty text pieces of the first choice, in order."""
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


# --- the fake upstream's counters ------------------------------------------------


class FakeStats:
    """``GET /stats`` of the fake upstream; the fake is shared, so tests compare deltas."""

    def __init__(self, url: str) -> None:
        self.url = url

    def read(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/stats", timeout=10).json()
        return stats

    def requests_for(self, model: str) -> int:
        count: int = self.read()["requests_by_model"].get(model, 0)
        return count


# --- stream slots -------------------------------------------------------------------


async def stream_slot_frees(gateway_url: str, team: TeamHandle, within: float = 3.0) -> float:
    """Seconds until a whole stream succeeds for ``team``; fails after ``within`` seconds.

    The gateway releases a team's stream slot once it sees the client's
    connection go, which takes a moment; a 429 ``concurrency_limited`` meanwhile
    is retried here (not by the SDK, whose Retry-After would be a full second).
    """
    from saasllm import RateLimitError

    started = time.monotonic()
    async with SaaSLLMClient(gateway_url, team.team_id, team.key, max_retries=0) as probe:
        job_id = await probe.create_job("slot-probe")
        while True:
            try:
                await probe.chat_stream(job_id, MESSAGES).final_text()
                return time.monotonic() - started
            except RateLimitError as exc:
                if exc.error_code != "concurrency_limited":
                    raise
                if time.monotonic() - started > within:
                    raise AssertionError(f"the stream slot was still held after {within}s") from exc
            await asyncio.sleep(0.05)


# --- gateways -----------------------------------------------------------------------


def faults_config(fake_base_url: str) -> dict[str, Any]:
    """The test configuration plus groups the shared gateway does not have."""
    config = test_config(fake_base_url, None)

    def fake(name: str, model: str) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{model}",
                "api_base": fake_base_url,
                "api_key": "sk-fake-upstream",
            },
            "model_info": {"id": f"{name}-1"},
        }

    config["model_list"] += [
        fake("fake-badjson", "fake-badjson"),
        fake("fake-429-long", "fake-429-r120"),
    ]
    config["model_groups"] += [
        {"name": "badjson", "members": ["fake-badjson"]},
        {"name": "ratelimited-long", "members": ["fake-429-long"]},
    ]
    return config


FAULTS_ENV = {
    # Short upstream timeouts, so `hang` is a 504 and `stall` an in-stream
    # upstream_timeout within a second.
    "SAASLLM_FIRST_CHUNK_TIMEOUT_S": "0.5",
    "SAASLLM_UPSTREAM_READ_TIMEOUT_S": "1",
}


class RestartableGateway:
    """A dedicated gateway that one test may SIGKILL; the next user gets a fresh one."""

    def __init__(self, config: dict[str, Any], database_url: str, workdir: Path) -> None:
        self.config = config
        self.database_url = database_url
        self.workdir = workdir
        self._gateway: GatewayProcess | None = None

    def get(self) -> GatewayProcess:
        if self._gateway is None or self._gateway.process.poll() is not None:
            self._gateway = GatewayProcess.start(
                config=self.config,
                database_url=self.database_url,
                workdir=self.workdir,
                env=FAULTS_ENV,
            )
        return self._gateway

    def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.stop()


def all_groups() -> list[str]:
    return [*TEST_GROUPS, *FAULT_GROUPS]


# --- network conditions a gateway cannot produce ---------------------------------


class LateListener:
    """A port that refuses connections until :meth:`open`, then forwards to ``target``.

    The socket is bound but not listening, so connecting to it is refused by the
    kernel (a real ``ConnectError``), and nobody else can take the port meanwhile.
    After :meth:`open` every connection is piped byte for byte to the gateway.
    """

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        assert target.hostname is not None
        assert target.port is not None
        self._target = (target.hostname, target.port)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()

    def open(self) -> None:
        self._sock.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._sock.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _PortalHandler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = b"<html><body>Please sign in to the network</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def captive_portal() -> Iterator[str]:
    """A third-party HTTP server between the client and the gateway that answers 200 HTML."""
    with _serving(ThreadingHTTPServer(("127.0.0.1", 0), _PortalHandler)) as url:
        yield url


# Headers that belong to one connection, not to the request or the answer.
_HOP_BY_HOP = {"connection", "keep-alive", "host", "content-length", "transfer-encoding"}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        assert isinstance(self.server, _ProxyServer)
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        fault = proxy.next_fault()
        if fault == "503":
            self.close_connection = True
            self._answer(503, {"Retry-After": "0", "Connection": "close"}, b"overloaded")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        answer = proxy.http.request(
            self.command, proxy.target + self.path, headers=headers, content=body
        )
        if fault == "drop":
            # The gateway acted on the request; its answer never reaches the client.
            self.close_connection = True
            return
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        self._answer(answer.status_code, kept, answer.content)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    proxy: FlakyProxy


class FlakyProxy:
    """A third-party HTTP proxy in front of the gateway that fails the next requests.

    :meth:`fail` queues one fault per coming request: ``"503"`` is answered by the
    proxy itself with ``Retry-After: 0`` (an overloaded load balancer; the gateway
    never sees it); ``"drop"`` reaches the gateway, which acts on it, and then the
    connection closes without the answer (a lost answer). Requests after the queue
    runs dry are relayed as they are. Answers are relayed whole, so no streams.
    """

    def __init__(self, target_url: str) -> None:
        self.target = target_url
        self.http = httpx.Client(timeout=30)
        self._faults: list[str] = []
        self._lock = threading.Lock()
        server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        server.proxy = self
        self._stack = contextlib.ExitStack()
        self.url = self._stack.enter_context(_serving(server))

    def fail(self, *faults: str) -> None:
        with self._lock:
            self._faults[:] = faults

    def next_fault(self) -> str | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def close(self) -> None:
        self._stack.close()
        self.http.close()
