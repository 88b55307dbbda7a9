"""The official ``openai`` SDK against ``/v1`` with a virtual key, sync and async."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from saasllm_testing.fake import answer_text, tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin

POEM = "Write a short poem about Python"
MESSAGES: Any = [{"role": "user", "content": POEM}]


@pytest.fixture
def admin_sqlite(sqlite_gateway: GatewayProcess) -> Admin:
    return Admin(sqlite_gateway.url)


def test_sync_client_non_stream_and_stream_with_usage(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=10)
    client = openai.OpenAI(base_url=sqlite_gateway.url + "/v1", api_key=team.key, max_retries=0)
    models = [m.id for m in client.models.list()]
    assert "default" in models
    assert "secret" not in models

    completion = client.chat.completions.create(model="default", messages=MESSAGES)
    assert completion.choices[0].message.content == answer_text(POEM)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(tokens_for(POEM))

    stream = client.chat.completions.create(
        model="default",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == answer_text(POEM)
    assert usage is not None
    assert usage.completion_tokens == len(tokens_for(POEM))
    # Each request without X-Job-Id was a one-call job, completed and charged.
    assert admin_sqlite.balance(team.team_id) == 8


async def test_async_client_stream_inside_an_existing_job(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=10)
    async with httpx.AsyncClient(base_url=sqlite_gateway.url, headers=team.headers) as http:
        job_id = (await http.post("/api/jobs/create", json={"job_type": "oa"})).json()["job_id"]
    client = openai.AsyncOpenAI(
        base_url=sqlite_gateway.url + "/v1",
        api_key=team.key,
        default_headers={"X-Job-Id": job_id},
        max_retries=0,
    )
    stream = await client.chat.completions.create(
        model="default",
        messages=MESSAGES,
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == answer_text(POEM)
    answer = await client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=2)
    assert answer.choices[0].finish_reason == "length"
    # Inside a caller's job nothing is charged until the caller completes it.
    assert admin_sqlite.balance(team.team_id) == 10
    calls = await db.calls(sqlite_gateway.database_url, team.team_id, 2)
    assert {c["job_id"] for c in calls} == {job_id}
    assert len(calls) == 2


def test_typed_errors(sqlite_gateway: GatewayProcess, admin_sqlite: Admin) -> None:
    base = sqlite_gateway.url + "/v1"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base, api_key="sk-nope", max_retries=0).models.list()

    broke = admin_sqlite.team(credits=0)
    with pytest.raises(openai.PermissionDeniedError) as denied:
        openai.OpenAI(base_url=base, api_key=broke.key, max_retries=0).chat.completions.create(
            model="default",
            messages=MESSAGES,
        )
    assert denied.value.code == "insufficient_credits"

    team = admin_sqlite.team(credits=5)
    client = openai.OpenAI(base_url=base, api_key=team.key, max_retries=0)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="ratelimited", messages=MESSAGES, stream=True)
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-group", messages=MESSAGES)
    # Failed one-call jobs charge nothing.
    assert admin_sqlite.balance(team.team_id) == 5


def test_mid_stream_failure_raises_in_the_openai_sdk(
    sqlite_gateway: GatewayProcess, admin_sqlite: Admin
) -> None:
    team = admin_sqlite.team(credits=5)
    client = openai.OpenAI(base_url=sqlite_gateway.url + "/v1", api_key=team.key, max_retries=0)
    stream = client.chat.completions.create(
        model="cut",
        messages=[{"role": "user", "content": "Explain Docker containers"}],
        stream=True,
    )
    received = 0
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received += 1
    assert received == 5
    # The upstream broke the answer after five chunks of it: the one-call job is completed
    # and charged (it settles as the response ends, so give it a moment).
    deadline = time.monotonic() + 10
    while admin_sqlite.balance(team.team_id) == 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert admin_sqlite.balance(team.team_id) == 4
