"""Resumable job-API streams: reconnect with Last-Event-ID, get the rest exactly once."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from saasllm_testing.fake import tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin

BLOG = "Write a technical blog post about microservices (500 words)"


def _events(raw: str) -> list[tuple[str, str]]:
    """(id, data) of each event with data."""
    out = []
    for block in raw.split("\n\n"):
        ident, data = "", ""
        for line in block.split("\n"):
            if line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
        if data:
            out.append((ident, data))
    return out


def _content(data: str) -> str:
    if data == "[DONE]":
        return ""
    chunk = orjson.loads(data)
    return "".join(c["delta"].get("content") or "" for c in chunk["choices"])


async def test_drop_after_chunk_ten_then_resume_gets_the_rest_once(
    sqlite_gateway: GatewayProcess, fake_upstream: Any
) -> None:
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=5)
    body = {"model": "slow", "max_tokens": 30, "messages": [{"role": "user", "content": BLOG}]}
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "r"})).json()["job_id"]
        upstream_before = (await client.get(fake_upstream.url + "/stats")).json()["requests"]
        first: list[tuple[str, str]] = []
        path = f"/api/jobs/{job_id}/llm-call-stream"
        async with client.stream(
            "POST", path, json=body, headers={"X-Resume-Grace": "10"}
        ) as response:
            buffer = ""
            async for text in response.aiter_text():
                buffer += text
                complete, _, buffer = buffer.rpartition("\n\n")
                first.extend(_events(complete + "\n\n") if complete else [])
                if len(first) >= 10:
                    break
        first = first[:10]
        last_id = first[-1][0]
        assert last_id.endswith(":10")

        resumed = await client.post(path, json=body, headers={"Last-Event-ID": last_id})
        assert resumed.status_code == 200
        rest = _events(resumed.text)
        upstream_after = (await client.get(fake_upstream.url + "/stats")).json()["requests"]

        ids = [int(i.rsplit(":", 1)[1]) for i, _ in first + rest]
        assert ids == list(range(1, len(ids) + 1)), "every event exactly once, in order"
        assert rest[-1][1] == "[DONE]"
        text = "".join(_content(d) for _, d in first + rest)
        assert text == "".join(tokens_for(BLOG, 30))
        assert upstream_after - upstream_before == 1, "one upstream call"

        result = (await client.post(f"/api/jobs/{job_id}/complete", json={})).json()
    assert result["total_calls"] == 1
    assert result["credits_remaining"] == 4
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert [c["status"] for c in calls] == ["success"]
    assert calls[0]["completion_tokens"] == 30


async def test_resume_of_someone_elses_stream_is_404(sqlite_gateway: GatewayProcess) -> None:
    admin = Admin(sqlite_gateway.url)
    owner, stranger = admin.team(credits=5), admin.team(credits=5)
    body = {"messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=sqlite_gateway.url) as client:
        job = (
            await client.post("/api/jobs/create", json={"job_type": "r"}, headers=owner.headers)
        ).json()["job_id"]
        done = await client.post(
            f"/api/jobs/{job}/llm-call-stream", json=body, headers=owner.headers
        )
        last_id = _events(done.text)[-1][0]
        again = await client.post(
            f"/api/jobs/{job}/llm-call-stream",
            json=body,
            headers={**owner.headers, "Last-Event-ID": last_id.rsplit(":", 1)[0] + ":0"},
        )
        assert _events(again.text) == _events(done.text)
        refused = await client.post(
            f"/api/jobs/{job}/llm-call-stream",
            json=body,
            headers={**stranger.headers, "Last-Event-ID": last_id},
        )
        assert refused.status_code == 404
        malformed = await client.post(
            f"/api/jobs/{job}/llm-call-stream",
            json=body,
            headers={**owner.headers, "Last-Event-ID": "garbage"},
        )
        assert malformed.status_code == 422


async def test_lingering_upstream_stops_when_the_client_cancels_the_stream(
    sqlite_gateway: GatewayProcess, fake_upstream: Any
) -> None:
    """With a resume grace the upstream outlives the connection, until a DELETE ends it."""
    import asyncio
    import time

    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=5)
    body = {"model": "slow", "max_tokens": 60, "messages": [{"role": "user", "content": BLOG}]}
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "r"})).json()["job_id"]
        stats = (await client.get(fake_upstream.url + "/stats")).json()
        path = f"/api/jobs/{job_id}/llm-call-stream"
        seen: list[tuple[str, str]] = []
        async with client.stream(
            "POST", path, json=body, headers={"X-Resume-Grace": "20"}
        ) as response:
            async for text in response.aiter_text():
                seen.extend(_events(text))
                if len(seen) >= 3:
                    break
        await asyncio.sleep(0.6)
        still = (await client.get(fake_upstream.url + "/stats")).json()
        assert still["streams_disconnected"] == stats["streams_disconnected"], "kept for resume"
        stream_id = seen[-1][0].rsplit(":", 1)[0]
        cancelled = await client.delete(f"/api/jobs/{job_id}/streams/{stream_id}")
        assert cancelled.status_code == 204
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            now = (await client.get(fake_upstream.url + "/stats")).json()
            if now["streams_disconnected"] > stats["streams_disconnected"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the upstream kept streaming after the cancel")
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert [c["status"] for c in calls] == ["cancelled"]
    assert calls[0]["completion_tokens"] >= 3
