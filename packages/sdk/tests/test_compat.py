"""Every access form and call form the documented client's users rely on, against a real gateway.

The forms are those of the documented client's pages (the seed of our streaming
guide). Each is exercised on what the real gateway sends back, with the async and
the sync client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

import saasllm
from packages.sdk.tests.sdk_testkit import MESSAGES, POEM, Client, Recorder, Stream, resolve
from saasllm import (
    ChatCompletionChunk,
    JobId,
    SaasLiteLLMClient,
    SaaSLLMClient,
    SyncSaasLiteLLMClient,
    SyncSaaSLLMClient,
)
from saasllm_testing.fake import (
    answer_text,
    count_prompt_tokens,
    example_from_schema,
    tokens_for,
)
from tests.support.gateway import GatewayProcess
from tests.support.tenants import TeamHandle

ANSWER = answer_text(POEM)
USAGE = {
    "prompt_tokens": count_prompt_tokens(MESSAGES),
    "completion_tokens": len(tokens_for(POEM)),
    "total_tokens": count_prompt_tokens(MESSAGES) + len(tokens_for(POEM)),
}
# The `priced` group's deployment: 0.000001 USD per prompt token, 0.000002 per completion token.
PRICED_COST = USAGE["prompt_tokens"] * 0.000001 + USAGE["completion_tokens"] * 0.000002


async def close(client: Client) -> None:
    await resolve(client.close())


# --- constructors and import paths -----------------------------------------------------


def constructor_forms(kind: str, url: str, team: TeamHandle) -> list[Client]:
    from saas_litellm_client import SaasLiteLLMClient as ShimAsync
    from saas_litellm_client import SyncSaasLiteLLMClient as ShimSync

    if kind == "async":
        cls: Any = SaaSLLMClient
        old: Any = SaasLiteLLMClient
        shim: Any = ShimAsync
    else:
        cls, old, shim = SyncSaaSLLMClient, SyncSaasLiteLLMClient, ShimSync
    return [
        cls(base_url=url + "/", team_id=team.team_id, virtual_key=team.key),
        cls(url, team.team_id, team.key),
        cls(api_url=url, virtual_key=team.key, team_id=team.team_id, timeout=120.0),
        cls(base_url=url, team_id=team.team_id, virtual_key=team.key, timeout=60.0),
        old(base_url=url, team_id=team.team_id, virtual_key=team.key),
        shim(url, team.team_id, team.key),
    ]


async def test_constructor_forms_reach_the_gateway(
    kind: str, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    for client in constructor_forms(kind, sqlite_gateway.url, team):
        try:
            assert client.base_url == sqlite_gateway.url
            assert client.team_id == team.team_id
            assert team.key not in repr(client)
            job = await resolve(client.create_job("constructor"))
            assert job.job_id == job
            assert (await resolve(client.get_job())).job_id == job
        finally:
            await close(client)


@pytest.mark.parametrize("cls", [SaaSLLMClient, SyncSaaSLLMClient])
def test_base_url_and_api_url_together_is_an_error(
    cls: type[SaaSLLMClient] | type[SyncSaaSLLMClient],
) -> None:
    with pytest.raises(TypeError):
        cls(base_url="http://a", api_url="http://b", virtual_key="k")


def test_constructor_requires_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAASLLM_BASE_URL", raising=False)
    monkeypatch.delenv("SAASLLM_VIRTUAL_KEY", raising=False)
    with pytest.raises(ValueError, match="base_url"):
        SaaSLLMClient(team_id="t", virtual_key="k")
    with pytest.raises(ValueError, match="virtual_key"):
        SaaSLLMClient("http://h", "t")


def test_old_names() -> None:
    assert SaasLiteLLMClient is SaaSLLMClient
    from saas_litellm_client import SaasLiteLLMClient as ShimOld
    from saas_litellm_client import SaaSLLMClient as Shim

    assert Shim is SaaSLLMClient
    assert ShimOld is SaaSLLMClient
    from examples.typed_client import Message
    from examples.typed_client import SaaSLLMClient as Typed

    assert Typed is SaaSLLMClient
    assert Message is saasllm.ChatMessage


# --- jobs ----------------------------------------------------------------------------------


async def test_create_job_result_answers_job_id(client: Client, team: TeamHandle) -> None:
    job = await resolve(client.create_job("demo"))
    assert isinstance(job, JobId)
    assert isinstance(job, str)
    assert job.job_id == job
    assert job.status == "pending"
    assert job.team_id == team.team_id
    assert job.created_at is not None
    assert client.current_job_id == job
    assert f"/api/jobs/{job}" == f"/api/jobs/{job.job_id}"
    assert json.loads(json.dumps({"id": job})) == {"id": str(job)}


def test_job_id_without_a_created_body() -> None:
    job = JobId("job-1")
    assert job == "job-1"
    assert job.job_id == "job-1"
    assert job.status is None


async def test_job_result_access_forms(client: Client) -> None:
    job_id = await resolve(client.create_job("costs"))
    await resolve(client.chat(job_id, MESSAGES, model="priced"))
    result = await resolve(client.complete_job(job_id, "completed"))
    assert result.total_calls == 1
    assert result.credit_applied is True
    assert result.credits_remaining == 100 - result.credits_charged
    assert result.costs.credits_remaining == result.credits_remaining
    assert result["costs"]["credits_remaining"] == result.credits_remaining
    assert result.costs.get("total_cost_usd", 0) == pytest.approx(PRICED_COST)
    assert result.costs.get("no_such_field", 0) == 0


# --- completions ------------------------------------------------------------------------------


async def test_completion_access_forms(client: Client) -> None:
    job_id = await resolve(client.create_job("demo"))
    response = await resolve(client.chat(job_id, MESSAGES))
    message = response.choices[0].message
    assert message["content"] == ANSWER
    assert message.get("content", "") == ANSWER
    assert message.content == ANSWER
    assert response.usage.model_dump() == USAGE
    assert response.response.content == ANSWER
    assert response.response.finish_reason == "stop"
    assert response.metadata.tokens_used == USAGE["total_tokens"]
    assert response["metadata"]["latency_ms"] > 0
    assert response.call_id


async def test_llm_call_and_structured_call_aliases(client: Client) -> None:
    class Person(BaseModel):
        name: str

    job_id = await resolve(client.create_job("aliases"))
    response = await resolve(client.llm_call(job_id=job_id, messages=MESSAGES))
    assert response.choices[0].message["content"] == ANSWER
    person = await resolve(
        client.structured_call(
            job_id=job_id, messages=[{"role": "user", "content": "who?"}], response_model=Person
        )
    )
    assert person == Person.model_validate(example_from_schema(Person.model_json_schema()))


async def test_repo_form_chat_all_keywords(client: Client, recorder: Recorder) -> None:
    job_id = await resolve(client.create_job("keywords"))
    response = await resolve(
        client.chat(
            model_group="default",
            messages=[saasllm.Message(role="user", content=POEM)],
            purpose="greeting",
            job_id=job_id,
        )
    )
    assert recorder.requests[-1].url.path == f"/api/jobs/{job_id}/llm-call"
    assert recorder.body() == {
        "messages": MESSAGES,
        "model_group": "default",
        "purpose": "greeting",
    }
    assert response.choices[0].message["content"] == ANSWER


# --- stream chunks --------------------------------------------------------------------------


async def test_stream_chunk_access_forms(client: Client) -> None:
    job_id = await resolve(client.create_job("stream-forms"))
    stream: Stream = client.chat_stream(job_id, MESSAGES)
    by_get = by_item = by_attr = ""
    finish_reasons: list[str | None] = []
    usages: list[dict[str, int]] = []

    def read(chunk: ChatCompletionChunk) -> None:
        nonlocal by_get, by_item, by_attr
        assert not (hasattr(chunk, "error") and chunk.error)
        if chunk.choices:
            delta = chunk.choices[0].delta
            by_get += delta.get("content", "")
            if delta.get("content"):
                by_item += delta["content"]
            by_attr += delta.content
            finish_reasons.append(chunk.choices[0].finish_reason)
        if chunk.usage:
            usages.append(chunk.usage.model_dump())

    if isinstance(stream, saasllm.AsyncChatStream):
        async for chunk in stream:
            read(chunk)
    else:
        for chunk in stream:
            read(chunk)
    assert by_get == by_item == by_attr == ANSWER
    assert finish_reasons[-1] == "stop"
    assert set(finish_reasons[:-1]) == {None}
    assert usages == [USAGE]


NULL_CONTENT_WIRE = (
    '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"content":null},"finish_reason":"stop"}]}'
)
EMPTY_DELTA_WIRE = '{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'


@pytest.mark.parametrize("wire", [NULL_CONTENT_WIRE, EMPTY_DELTA_WIRE])
def test_null_or_missing_content_is_empty_string(wire: str) -> None:
    """Other providers send ``"content": null``; ``accumulated += ...`` must not break."""
    chunk = ChatCompletionChunk.model_validate_json(wire)
    accumulated = ""
    accumulated += chunk.choices[0].delta.get("content", "")
    assert accumulated == ""
    assert chunk.choices[0].delta.content == ""
    assert chunk.choices[0].finish_reason == "stop"
