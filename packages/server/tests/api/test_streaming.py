"""SSE relay over real sockets: framing, zero buffering, fallback, faults, limits, accounting."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest

from saasllm_testing.fake import answer_text, tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

POEM = "Write a short poem about Python"
BLOG = "Write a technical blog post about microservices (500 words)"


def _body(prompt: str = POEM, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}], **extra}


async def _job(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/jobs/create", json={"job_type": "stream"})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def _parse(raw: str) -> list[tuple[str, str]]:
    """(event name, data) pairs, per the SSE spec's framing."""
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        events.append((name, "\n".join(data)))
    return events


@pytest.fixture
async def client(sqlite_gateway: GatewayProcess) -> Any:
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=50)
    async with httpx.AsyncClient(
        base_url=sqlite_gateway.url, headers=team.headers, timeout=30
    ) as http:
        http.team = team  # type: ignore[attr-defined]
        yield http


async def test_stream_relays_each_chunk_and_ends_with_done(
    client: httpx.AsyncClient, fake_upstream: Any, sqlite_gateway: GatewayProcess
) -> None:
    job_id = await _job(client)
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=_body()) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        raw = (await r.aread()).decode()
    events = _parse(raw)
    assert events[-1] == ("message", "[DONE]")
    chunks = [orjson.loads(data) for _, data in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == answer_text(POEM)
    # One event per upstream chunk: role, one per token, finish; no usage (not asked for).
    assert len(chunks) == len(tokens_for(POEM)) + 2
    assert all(c.get("usage") is None for c in chunks)
    # Job-API events are numbered for resumption: "<stream id>:1", ":2", ... in order.
    ids = [line[4:] for line in raw.split("\n") if line.startswith("id: ")]
    assert len(ids) == len(events)
    assert [int(i.rsplit(":", 1)[1]) for i in ids] == list(range(1, len(events) + 1))
    assert len({i.rsplit(":", 1)[0] for i in ids}) == 1
    # Usage is requested upstream anyway, so the call is recorded with real tokens.
    async with httpx.AsyncClient() as plain:
        last = (await plain.get(fake_upstream.url + "/stats")).json()["last_request"]
    assert last["stream_options"] == {"include_usage": True}
    team = client.team  # type: ignore[attr-defined]
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert len(calls) == 1
    assert calls[0]["status"] == "success"
    assert calls[0]["completion_tokens"] == len(tokens_for(POEM))
    assert calls[0]["prompt_tokens"] > 0
    assert calls[0]["ttft_ms"] is not None


async def test_usage_chunk_is_forwarded_when_asked(client: httpx.AsyncClient) -> None:
    job_id = await _job(client)
    body = _body(stream_options={"include_usage": True})
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
        raw = (await r.aread()).decode()
    chunks = [orjson.loads(d) for _, d in _parse(raw)[:-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(tokens_for(POEM))


async def test_zero_buffering_each_chunk_arrives_as_it_is_sent(client: httpx.AsyncClient) -> None:
    """The upstream paces tokens 200 ms apart; each must reach us on that pace (±50 ms)."""
    job_id = await _job(client)
    arrivals: list[float] = []
    body = _body(POEM, model="slow", max_tokens=8)
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter())
    assert len(arrivals) == 8
    first = arrivals[0]
    for index, arrived in enumerate(arrivals):
        expected = first + index * 0.200
        assert abs(arrived - expected) < 0.050, [round(a - first, 3) for a in arrivals]


async def test_fallback_answers_from_the_next_member(
    client: httpx.AsyncClient, sqlite_gateway: GatewayProcess
) -> None:
    job_id = await _job(client)
    body = _body(model="fallback")
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
        assert r.status_code == 200
        raw = (await r.aread()).decode()
    assert _parse(raw)[-1][1] == "[DONE]"
    result = (await client.post(f"/api/jobs/{job_id}/complete", json={})).json()
    assert result["calls"][0]["model"] == "openai/fake"
    assert result["calls"][0]["status"] == "success"


async def test_upstream_rate_limit_before_first_byte_is_a_real_429(
    client: httpx.AsyncClient,
) -> None:
    job_id = await _job(client)
    for path in ("llm-call-stream", "llm-call"):
        response = await client.post(f"/api/jobs/{job_id}/{path}", json=_body(model="ratelimited"))
        assert response.status_code == 429, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "upstream_rate_limited"


async def test_upstream_that_never_answers_is_504(client: httpx.AsyncClient) -> None:
    job_id = await _job(client)
    started = time.monotonic()
    response = await client.post(f"/api/jobs/{job_id}/llm-call-stream", json=_body(model="hang"))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert time.monotonic() - started < 10


async def test_cut_stream_ends_with_error_event_and_a_failed_call(
    client: httpx.AsyncClient, sqlite_gateway: GatewayProcess
) -> None:
    job_id = await _job(client)
    body = _body(BLOG, model="cut")
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
        assert r.status_code == 200
        raw = (await r.aread()).decode()
    events = _parse(raw)
    assert ("message", "[DONE]") not in events
    name, data = events[-1]
    assert name == "error"
    assert orjson.loads(data)["error"]["type"] == "upstream_error"
    content = [e for e in events[:-1] if '"content":"' in e[1] and '"content":""' not in e[1]]
    assert len(content) == 5
    team = client.team  # type: ignore[attr-defined]
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert calls[0]["status"] == "failed"
    assert calls[0]["completion_tokens"] == 5


async def test_concurrent_stream_cap_and_release_on_disconnect(
    sqlite_gateway: GatewayProcess,
) -> None:
    admin = Admin(sqlite_gateway.url)
    team: TeamHandle = admin.team(credits=10, max_concurrent_streams=1)
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = await _job(client)
        slow = _body(BLOG, model="slow")
        async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=slow) as r:
            assert r.status_code == 200
            second = await client.post(f"/api/jobs/{job_id}/llm-call-stream", json=_body())
            assert second.status_code == 429
            assert second.json()["error"]["code"] == "concurrency_limited"
            assert int(second.headers["retry-after"]) >= 1
        # Leaving the block closed the connection mid-stream: the slot must come back.
        for _ in range(50):
            again = await client.post(f"/api/jobs/{job_id}/llm-call-stream", json=_body())
            if again.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert again.status_code == 200
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 2)
    assert sorted(c["status"] for c in calls) == ["cancelled", "success"]


async def test_requests_per_minute_cap_is_429_with_retry_after(
    sqlite_gateway: GatewayProcess,
) -> None:
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=10, rpm_limit=3)  # creating the job is one of the three
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = await _job(client)
        statuses = [
            (await client.post(f"/api/jobs/{job_id}/llm-call", json=_body())).status_code
            for _ in range(2)
        ]
        third = await client.post(f"/api/jobs/{job_id}/llm-call-stream", json=_body())
    assert statuses == [200, 200]
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(third.headers["retry-after"]) <= 60


async def test_stalled_upstream_gets_heartbeats_then_a_timeout_error(
    client: httpx.AsyncClient, sqlite_gateway: GatewayProcess
) -> None:
    """The test gateway pings after 1 s of silence and gives up on an upstream after 4 s."""
    job_id = await _job(client)
    started = time.monotonic()
    body = _body(BLOG, model="stall")
    async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
        assert r.status_code == 200
        raw = (await r.aread()).decode()
    elapsed = time.monotonic() - started
    assert raw.count(": ping\n\n") >= 2, raw
    events = _parse(raw)
    assert ("message", "[DONE]") not in events
    name, data = events[-1]
    assert name == "error"
    assert orjson.loads(data)["error"]["code"] == "upstream_timeout"
    assert 3.5 < elapsed < 10
    team = client.team  # type: ignore[attr-defined]
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert calls[0]["status"] == "failed"
    assert calls[0]["completion_tokens"] == 1


async def test_a_client_that_stops_reading_is_cut_after_the_send_timeout(
    sqlite_gateway: GatewayProcess,
) -> None:
    """The test gateway's send timeout is 2 s; the flood group streams as fast as it can."""
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=5, max_concurrent_streams=1)
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = await _job(client)
    host, port = sqlite_gateway.url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    body = orjson.dumps({"model": "flood", "messages": [{"role": "user", "content": "go"}]})
    writer.write(
        f"POST /api/jobs/{job_id}/llm-call-stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {team.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    try:
        # Never read: the socket buffers fill, the gateway's sends block, then it gives up.
        calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1, within_s=15)
        assert calls, "the gateway kept a client that reads nothing"
        assert calls[0]["status"] == "cancelled"
        assert calls[0]["error"] == "client stopped reading"
    finally:
        writer.close()
    # The slot came back: the team can stream again.
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        again = await client.post(f"/api/jobs/{job_id}/llm-call-stream", json=_body())
        assert again.status_code == 200
