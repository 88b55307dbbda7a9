"""Every access form and call form the documented client's users rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_testkit import COMPLETION, JOB_CREATED, JOB_RESULT, Gateway, make_client, resolve

import saasllm
from saasllm import (
    ChatCompletion,
    ChatCompletionChunk,
    JobId,
    JobResult,
    SaasLiteLLMClient,
    SaaSLLMClient,
    SyncSaaSLLMClient,
)

REPO_ROOT = Path(__file__).resolve().parents[3]

CHUNK_WIRE = (
    '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}'
)
NULL_CONTENT_WIRE = (
    '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"content":null},"finish_reason":"stop"}]}'
)
EMPTY_DELTA_WIRE = '{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
USAGE_WIRE = (
    '{"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'
)


def test_chunk_access_forms() -> None:
    chunk = ChatCompletionChunk.model_validate_json(CHUNK_WIRE)
    assert chunk.choices
    delta = chunk.choices[0].delta
    assert delta.get("content", "") == "Hi"
    assert delta["content"] == "Hi"
    assert delta.content == "Hi"
    assert "content" in delta
    assert chunk.choices[0].finish_reason is None
    assert not (hasattr(chunk, "error") and chunk.error)


@pytest.mark.parametrize("wire", [NULL_CONTENT_WIRE, EMPTY_DELTA_WIRE])
def test_null_or_missing_content_is_empty_string(wire: str) -> None:
    chunk = ChatCompletionChunk.model_validate_json(wire)
    accumulated = ""
    accumulated += chunk.choices[0].delta.get("content", "")
    assert accumulated == ""
    assert chunk.choices[0].delta.content == ""
    assert chunk.choices[0].finish_reason == "stop"


def test_usage_chunk() -> None:
    chunk = ChatCompletionChunk.model_validate_json(USAGE_WIRE)
    assert not chunk.choices
    assert chunk.usage is not None
    assert chunk.usage.model_dump() == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
    }


def test_completion_access_forms() -> None:
    response = ChatCompletion.model_validate(COMPLETION)
    assert response.choices[0].message["content"] == "Hello there"
    assert response.choices[0].message.get("content", "") == "Hello there"
    assert response.choices[0].message.content == "Hello there"
    assert response.usage is not None
    assert response.usage.model_dump()["total_tokens"] == 6
    assert response.response.content == "Hello there"
    assert response.metadata.tokens_used == 6
    assert response["metadata"]["latency_ms"] == 12.5


def test_job_result_access_forms() -> None:
    result = JobResult.model_validate(JOB_RESULT)
    assert result.credits_remaining == 999
    assert result.total_calls == 2
    assert result.credit_applied is True
    assert result.costs.credits_remaining == 999
    assert result.costs.get("total_cost_usd", 0) == 0.0012
    assert result["costs"]["credits_remaining"] == 999
    assert result.costs.get("no_such_field", 0) == 0


def test_job_id_is_a_str_with_job_id() -> None:
    job = JobId("job-1")
    assert job == "job-1"
    assert isinstance(job, str)
    assert job.job_id == "job-1"
    assert f"/api/jobs/{job}" == "/api/jobs/job-1"
    assert json.dumps({"id": job}) == '{"id": "job-1"}'
    assert job.status is None


@pytest.mark.parametrize("cls", [SaaSLLMClient, SyncSaaSLLMClient])
def test_constructor_forms(cls: type[SaaSLLMClient] | type[SyncSaaSLLMClient]) -> None:
    forms = [
        cls(base_url="http://h:1/", team_id="t", virtual_key="k"),
        cls("http://h:1", "t", "k"),
        cls(api_url="http://h:1", virtual_key="k", team_id="t", timeout=120.0),
        cls(base_url="http://h:1", team_id="t", virtual_key="k", timeout=60.0),
    ]
    for client in forms:
        assert client.base_url == "http://h:1"
        assert client.team_id == "t"
        assert "k" not in repr(client)
    with pytest.raises(TypeError):
        cls(base_url="http://a", api_url="http://b", virtual_key="k")


def test_constructor_requires_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAASLLM_BASE_URL", raising=False)
    monkeypatch.delenv("SAASLLM_VIRTUAL_KEY", raising=False)
    with pytest.raises(ValueError, match="base_url"):
        SaaSLLMClient(team_id="t", virtual_key="k")
    with pytest.raises(ValueError, match="virtual_key"):
        SaaSLLMClient("http://h", "t")


def test_old_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    assert SaasLiteLLMClient is SaaSLLMClient
    from saas_litellm_client import SaasLiteLLMClient as ShimOld
    from saas_litellm_client import SaaSLLMClient as Shim

    assert Shim is SaaSLLMClient
    assert ShimOld is SaaSLLMClient
    from examples.typed_client import Message
    from examples.typed_client import SaaSLLMClient as Typed

    assert Typed is SaaSLLMClient
    assert Message is saasllm.ChatMessage


async def test_create_job_result_answers_job_id(kind: str, gateway: Gateway) -> None:
    client = make_client(kind, gateway)
    gateway.add(httpx.Response(200, json=JOB_CREATED))
    job = await resolve(client.create_job("demo"))
    assert job == "job-1"
    assert job.job_id == "job-1"
    assert job.status == "pending"
    assert client.current_job_id == "job-1"


async def test_llm_call_and_structured_call_aliases(kind: str, gateway: Gateway) -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str

    client = make_client(kind, gateway)
    answer: dict[str, Any] = {**COMPLETION}
    answer["choices"] = [
        {"index": 0, "message": {"role": "assistant", "content": '{"name": "Ada"}'}}
    ]
    gateway.add(httpx.Response(200, json=COMPLETION), httpx.Response(200, json=answer))
    response = await resolve(
        client.llm_call(job_id="job-1", messages=[{"role": "user", "content": "hi"}])
    )
    assert response.choices[0].message["content"] == "Hello there"
    person = await resolve(
        client.structured_call(
            job_id="job-1", messages=[{"role": "user", "content": "who?"}], response_model=Person
        )
    )
    assert person == Person(name="Ada")


async def test_repo_form_chat_all_keywords(kind: str, gateway: Gateway) -> None:
    client = make_client(kind, gateway)
    gateway.add(httpx.Response(200, json=COMPLETION))
    await resolve(
        client.chat(
            model_group="fast",
            messages=[saasllm.Message(role="user", content="hi")],
            purpose="greeting",
            job_id="job-9",
        )
    )
    assert gateway.requests[0].url.path == "/api/jobs/job-9/llm-call"
    assert gateway.body() == {
        "messages": [{"role": "user", "content": "hi"}],
        "model_group": "fast",
        "purpose": "greeting",
    }
