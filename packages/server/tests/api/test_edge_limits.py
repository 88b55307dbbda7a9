"""The edge a bad client cannot hurt, and streams an HTTP/1.0 client can read, on real sockets.

Oversized heads are tried on the shared gateway (the shipped defaults: 32 KiB, 100
fields); the timeout, memory and connection-cap attacks on a gateway of their own with
a 2 s header timeout and a cap of 16 connections, so each takes a few seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group
import pytest

from saasllm_schema import ErrorBody, ErrorCode
from saasllm_testing.fake import FakeUpstreamProcess, answer_text
from tests.support.gateway import GatewayProcess
from tests.support.gateway import test_config as gateway_config
from tests.support.rawhttp import (
    RawResponse,
    address,
    dechunk,
    exchange,
    parse,
    read_to_eof,
    request,
)
from tests.support.tenants import Admin, TeamHandle

HEADER_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 16
MiB = 1024 * 1024
POEM = "Write a short poem about Python"


@pytest.fixture(scope="module")
def edge_gateway(workdir: Path, fake_upstream: FakeUpstreamProcess) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess.start(
        config=gateway_config(fake_upstream.base_url, None),
        database_url=f"sqlite+aiosqlite:///{workdir / 'edge.db'}",
        workdir=workdir,
        env={
            "SAASLLM_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "SAASLLM_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        },
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def edge_team(edge_gateway: GatewayProcess) -> TeamHandle:
    admin = Admin(edge_gateway.url)
    team = admin.team(credits=100)
    admin.http.close()  # its kept-alive connection would count against the cap
    return team


@pytest.fixture(scope="module")
def team_of_shared(sqlite_gateway: GatewayProcess) -> TeamHandle:
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=100)
    admin.http.close()
    return team


def _assert_431(response: RawResponse, says: str) -> None:
    assert response.status == 431
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    error = ErrorBody.model_validate_json(response.body).error
    assert (error.type, error.code) == ("headers_too_large", ErrorCode.HEADERS_TOO_LARGE)
    assert says in error.message


def _health(url: str) -> int:
    return exchange(url, request("GET", "/health"), timeout=10).status


def _stream_request(team: TeamHandle, *, version: str, model: str = "default") -> bytes:
    body = orjson.dumps(
        {"model": model, "stream": True, "messages": [{"role": "user", "content": POEM}]}
    )
    headers = {**team.headers, "Content-Type": "application/json"}
    return request("POST", "/v1/chat/completions", version=version, headers=headers, body=body)


def _streamed_text(sse: bytes) -> str:
    events = [line[6:] for line in sse.decode().split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]", sse[-200:]
    chunks = [orjson.loads(event) for event in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# Oversized heads: 431 with the one error body, on the shipped defaults.


def test_one_header_of_1_mib_gets_431_with_the_json_error(sqlite_gateway: GatewayProcess) -> None:
    head = request("GET", "/health", headers={"X-Big": "a" * MiB})
    _assert_431(exchange(sqlite_gateway.url, head), "larger than 32768 bytes")
    assert _health(sqlite_gateway.url) == 200


def test_10000_headers_get_431_with_the_json_error(sqlite_gateway: GatewayProcess) -> None:
    many = {f"X-H{i}": "v" for i in range(10_000)}
    _assert_431(exchange(sqlite_gateway.url, request("GET", "/health", headers=many)), "100")
    assert _health(sqlite_gateway.url) == 200


def test_heads_within_the_limits_are_served(sqlite_gateway: GatewayProcess) -> None:
    near_size = request("GET", "/health", headers={"Cookie": "c" * (30 * 1024)})
    assert exchange(sqlite_gateway.url, near_size).status == 200
    near_count = request("GET", "/health", headers={f"X-H{i}": "v" for i in range(95)})
    assert exchange(sqlite_gateway.url, near_count).status == 200


def test_a_large_body_sent_with_its_head_is_not_counted_as_head(
    sqlite_gateway: GatewayProcess, team_of_shared: TeamHandle
) -> None:
    """The head and a 200 KiB body leave in one write, so they arrive together."""
    prompt = "x" * (200 * 1024)
    body = orjson.dumps({"model": "default", "messages": [{"role": "user", "content": prompt}]})
    headers = {**team_of_shared.headers, "Content-Type": "application/json"}
    response = exchange(
        sqlite_gateway.url, request("POST", "/v1/chat/completions", headers=headers, body=body)
    )
    assert response.status == 200, response.body[:300]
    assert orjson.loads(response.body)["choices"][0]["message"]["content"]


def test_the_limits_apply_to_each_request_of_a_kept_alive_connection(
    sqlite_gateway: GatewayProcess,
) -> None:
    with socket.create_connection(address(sqlite_gateway.url), timeout=10) as sock:
        sock.sendall(request("GET", "/health", headers={"Connection": "keep-alive"}))
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        sock.sendall(request("GET", "/health", headers={"X-Big": "a" * (64 * 1024)}))
        _assert_431(parse(read_to_eof(sock)), "larger than 32768 bytes")


def _send_in_two_reads(url: str, data: bytes, at: int) -> RawResponse:
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(data[:at])
        time.sleep(0.2)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data[at:])
        return parse(read_to_eof(sock))


def test_a_head_that_comes_in_pieces_is_measured_whole(sqlite_gateway: GatewayProcess) -> None:
    fits = request("GET", "/health", headers={"X-A": "a" * 12_000, "X-B": "b" * 12_000})
    assert _send_in_two_reads(sqlite_gateway.url, fits, at=14_000).status == 200
    over = request("GET", "/health", headers={"X-A": "a" * 20_000, "X-B": "b" * 20_000})
    _assert_431(_send_in_two_reads(sqlite_gateway.url, over, at=22_000), "32768 bytes")


def test_pipelined_requests_are_all_answered(sqlite_gateway: GatewayProcess) -> None:
    first = request("GET", "/health", headers={"Connection": "keep-alive"})
    with socket.create_connection(address(sqlite_gateway.url), timeout=10) as sock:
        sock.sendall(first + request("GET", "/health"))
        answers = read_to_eof(sock)
    assert answers.count(b"HTTP/1.1 200 OK") == 2, answers


# Slow heads: cut after the header timeout, from the connection or from the next request.


def _seconds_until_closed(sock: socket.socket, *, dribble: bytes, limit_s: float) -> float:
    """Send ``dribble`` one byte a second until the server closes; seconds it took."""
    started = time.monotonic()
    sock.settimeout(1.0)
    for byte in dribble:
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        assert time.monotonic() - started < limit_s, "the slow client was never cut"
    raise AssertionError("the whole head was sent before the server cut it")


def test_a_client_sending_one_header_byte_a_second_is_cut_after_the_timeout(
    edge_gateway: GatewayProcess,
) -> None:
    head = request("GET", "/health", headers={"X-Slow": "s" * 60})
    with socket.create_connection(address(edge_gateway.url)) as sock:
        took = _seconds_until_closed(sock, dribble=head, limit_s=HEADER_TIMEOUT_S + 4)
    assert HEADER_TIMEOUT_S - 0.5 <= took <= HEADER_TIMEOUT_S + 2


def test_a_connection_that_sends_nothing_is_cut_after_the_timeout(
    edge_gateway: GatewayProcess,
) -> None:
    with socket.create_connection(address(edge_gateway.url), timeout=HEADER_TIMEOUT_S + 4) as sock:
        started = time.monotonic()
        assert read_to_eof(sock) == b""
        assert time.monotonic() - started <= HEADER_TIMEOUT_S + 2


def test_a_slow_next_request_on_a_kept_alive_connection_is_cut(
    edge_gateway: GatewayProcess,
) -> None:
    with socket.create_connection(address(edge_gateway.url), timeout=10) as sock:
        sock.sendall(request("GET", "/health", headers={"Connection": "keep-alive"}))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        head = request("GET", "/health", headers={"X-Slow": "s" * 60})
        took = _seconds_until_closed(sock, dribble=head, limit_s=HEADER_TIMEOUT_S + 4)
    assert HEADER_TIMEOUT_S - 0.5 <= took <= HEADER_TIMEOUT_S + 2


# Memory: eight unfinished 50 MB headers.


def test_rss_stays_bounded_under_eight_unfinished_50_mb_headers(
    edge_gateway: GatewayProcess,
) -> None:
    process = psutil.Process(edge_gateway.process.pid)
    assert _health(edge_gateway.url) == 200
    idle = max(_sample_rss(process) for _ in range(5))
    peak = idle
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _sample_rss(process))
            time.sleep(0.01)

    sent = [0] * 8

    def attack(slot: int) -> None:
        chunk = b"a" * MiB
        with socket.create_connection(address(edge_gateway.url), timeout=5) as sock:
            try:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Unfinished: ")
                while sent[slot] < 50 * MiB:
                    sock.sendall(chunk)
                    sent[slot] += len(chunk)
            except OSError:
                pass

    sampler = threading.Thread(target=sample)
    attackers = [threading.Thread(target=attack, args=(slot,)) for slot in range(8)]
    sampler.start()
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join(timeout=30)
    stop.set()
    sampler.join()
    assert not any(thread.is_alive() for thread in attackers)
    assert all(total < 25 * MiB for total in sent), sent
    assert peak - idle < 50 * MiB, f"idle {idle / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB"
    assert _health(edge_gateway.url) == 200


def _sample_rss(process: psutil.Process) -> int:
    rss: int = process.memory_info().rss
    return rss


# The connection cap.


def _client_connections(gateway: GatewayProcess) -> int:
    port = address(gateway.url)[1]
    return sum(
        1
        for conn in psutil.Process(gateway.process.pid).net_connections(kind="tcp")
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


def _wait_for_connections(gateway: GatewayProcess, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _client_connections(gateway) != count:
        assert time.monotonic() < deadline, f"{_client_connections(gateway)} open, not {count}"
        time.sleep(0.02)


def test_connections_beyond_the_cap_are_refused_and_open_streams_go_on(
    edge_gateway: GatewayProcess, edge_team: TeamHandle
) -> None:
    _wait_for_connections(edge_gateway, 0)
    stream = socket.create_connection(address(edge_gateway.url), timeout=15)
    fillers: list[socket.socket] = []
    try:
        stream.sendall(_stream_request(edge_team, version="1.1", model="slow"))
        received = stream.recv(65536)
        while b"data: " not in received:
            received += stream.recv(65536)
        fillers = [
            socket.create_connection(address(edge_gateway.url)) for _ in range(MAX_CONNECTIONS - 1)
        ]
        _wait_for_connections(edge_gateway, MAX_CONNECTIONS)

        with socket.create_connection(address(edge_gateway.url), timeout=5) as refused:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                refused.sendall(request("GET", "/health"))
            assert read_to_eof(refused) == b""
        assert _client_connections(edge_gateway) == MAX_CONNECTIONS

        answer = parse(received + read_to_eof(stream))
        assert answer.status == 200
        assert _streamed_text(dechunk(answer.body)) == answer_text(POEM)
    finally:
        stream.close()
        for filler in fillers:
            filler.close()
    _wait_for_connections(edge_gateway, 0)
    assert _health(edge_gateway.url) == 200


# HTTP/1.0: a body the client can read.


def test_an_http_1_0_stream_is_sent_unchunked_and_closed_at_the_end(
    sqlite_gateway: GatewayProcess, team_of_shared: TeamHandle
) -> None:
    response = exchange(sqlite_gateway.url, _stream_request(team_of_shared, version="1.0"))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "transfer-encoding" not in response.headers
    assert "content-length" not in response.headers
    assert response.headers["connection"] == "close"
    assert _streamed_text(response.body) == answer_text(POEM)


def test_an_http_1_0_plain_answer_keeps_its_length(sqlite_gateway: GatewayProcess) -> None:
    response = exchange(sqlite_gateway.url, request("GET", "/health", version="1.0"))
    assert response.status == 200
    assert "transfer-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.body)
    assert orjson.loads(response.body) == {"status": "ok"}


def test_an_http_1_1_stream_is_still_chunked(
    sqlite_gateway: GatewayProcess, team_of_shared: TeamHandle
) -> None:
    response = exchange(sqlite_gateway.url, _stream_request(team_of_shared, version="1.1"))
    assert response.status == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert _streamed_text(dechunk(response.body)) == answer_text(POEM)
