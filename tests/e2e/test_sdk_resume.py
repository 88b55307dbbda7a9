"""The SDK resumes a dropped stream once, on its own: the rest of the answer, exactly once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from saasllm import SaaSLLMClient
from saasllm_testing.fake import tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.netfault import CuttableProxy
from tests.support.tenants import Admin

BLOG = "Write a technical blog post about microservices (500 words)"


async def test_sdk_resumes_after_the_connection_drops(
    sqlite_gateway: GatewayProcess, fake_upstream: Any
) -> None:
    admin = Admin(sqlite_gateway.url)
    team = admin.team(credits=5)
    target = urlsplit(sqlite_gateway.url)
    proxy = await CuttableProxy(target.hostname or "127.0.0.1", target.port or 80).start()
    try:
        async with httpx.AsyncClient() as plain:
            before = (await plain.get(fake_upstream.url + "/stats")).json()["requests"]
        async with SaaSLLMClient(proxy.url, team.team_id, team.key) as client:
            job_id = await client.create_job("resume")
            pieces: list[str] = []
            async for chunk in client.chat_stream(
                job_id, [{"role": "user", "content": BLOG}], model="slow", max_tokens=25
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                    if len(pieces) == 10:
                        proxy.cut()
            result = await client.complete_job(job_id, "completed")
        async with httpx.AsyncClient() as plain:
            after = (await plain.get(fake_upstream.url + "/stats")).json()["requests"]
    finally:
        await proxy.close()
    assert proxy.connections >= 2, "the stream was resumed on a new connection"
    assert "".join(pieces) == "".join(tokens_for(BLOG, 25))
    assert after - before == 1
    assert result.total_calls == 1
    assert result.credits_remaining == 4
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 1)
    assert [c["status"] for c in calls] == ["success"]
