"""Both clients against a scripted in-memory gateway: requests, retries, jobs, results."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from sdk_testkit import (
    COMPLETION,
    JOB_CREATED,
    JOB_RESULT,
    Gateway,
    error_response,
    make_client,
    resolve,
)

import saasllm._client
import saasllm._policy
import saasllm._sync_client
from saasllm import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ConflictError,
    InsufficientCreditsError,
    JobResult,
    PermissionDeniedError,
    RateLimitError,
    SaaSLLMClient,
    ServiceUnavailableError,
    SyncSaaSLLMClient,
    TeamSuspendedError,
)
from saasllm._base import BaseClient

Client = SaaSLLMClient | SyncSaaSLLMClient
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Retries without Retry-After would sleep 0.375-0.5 s; the policy is tested on its own.
    monkeypatch.setattr(saasllm._policy, "backoff_delay", lambda n, rand=None: 0.0)


def completion_with(content: str) -> dict[str, Any]:
    return {
        **COMPLETION,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


async def test_create_job_request_and_headers(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=JOB_CREATED))
    job_id = await resolve(client.create_job("demo", {"k": "v"}))
    request = gateway.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://gateway.test/api/jobs/create"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["x-team-id"] == "acme-corp"
    assert request.headers["x-saasllm-retry-count"] == "0"
    assert request.headers["user-agent"].startswith("saasllm-python/")
    assert len(request.headers["idempotency-key"]) == 36
    assert gateway.body() == {"job_type": "demo", "metadata": {"k": "v"}, "team_id": "acme-corp"}
    assert job_id == "job-1"


async def test_idempotency_key_is_reused_across_retries(client: Client, gateway: Gateway) -> None:
    gateway.add(
        error_response(503, "service_unavailable", "upstream_unavailable"),
        httpx.Response(502),
        httpx.Response(200, json=JOB_CREATED),
    )
    await resolve(client.create_job("demo"))
    keys = {r.headers["idempotency-key"] for r in gateway.requests}
    assert len(keys) == 1
    assert [r.headers["x-saasllm-retry-count"] for r in gateway.requests] == ["0", "1", "2"]
    # A new logical call gets a new key.
    gateway.add(httpx.Response(200, json=JOB_CREATED))
    await resolve(client.create_job("demo"))
    assert gateway.requests[-1].headers["idempotency-key"] not in keys


async def test_chat_sends_no_idempotency_key(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=COMPLETION))
    await resolve(client.chat("job-1", MESSAGES))
    assert "idempotency-key" not in gateway.requests[0].headers


async def test_retries_exhausted_raise_the_last_error(client: Client, gateway: Gateway) -> None:
    gateway.add(
        *(error_response(503, "service_unavailable", "upstream_unavailable") for _ in range(3))
    )
    with pytest.raises(ServiceUnavailableError) as caught:
        await resolve(client.chat("job-1", MESSAGES))
    assert len(gateway.requests) == 3
    assert caught.value.response.json()["error"]["type"] == "service_unavailable"


@pytest.mark.parametrize(
    ("status", "type_", "code", "cls"),
    [
        (409, "conflict_error", "job_already_completed", ConflictError),
        (403, "insufficient_credits", "insufficient_credits", InsufficientCreditsError),
        (403, "permission_error", "team_suspended", TeamSuspendedError),
        (403, "permission_error", "model_group_not_allowed", PermissionDeniedError),
    ],
)
async def test_non_retryable_statuses_raise_at_once(
    client: Client, gateway: Gateway, status: int, type_: str, code: str, cls: type
) -> None:
    gateway.add(error_response(status, type_, code))
    with pytest.raises(cls):
        await resolve(client.complete_job("job-1", "completed"))
    assert len(gateway.requests) == 1


async def test_retry_after_beyond_cap_raises_immediately(client: Client, gateway: Gateway) -> None:
    gateway.add(
        error_response(429, "rate_limit_error", "rate_limited", headers={"retry-after": "120"})
    )
    with pytest.raises(RateLimitError) as caught:
        await resolve(client.chat("job-1", MESSAGES))
    assert caught.value.retry_after == 120.0
    assert len(gateway.requests) == 1


async def test_max_retries_zero(kind: str, gateway: Gateway) -> None:
    client = make_client(kind, gateway, max_retries=0)
    gateway.add(
        error_response(429, "rate_limit_error", "rate_limited", headers={"retry-after": "0"})
    )
    with pytest.raises(RateLimitError):
        await resolve(client.chat("job-1", MESSAGES))
    assert len(gateway.requests) == 1


async def test_connect_errors_are_retried(client: Client, gateway: Gateway) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway.add(refuse, refuse, httpx.Response(200, json=COMPLETION))
    response = await resolve(client.chat("job-1", MESSAGES))
    assert response.choices[0].message["content"] == "Hello there"
    assert len(gateway.requests) == 3

    gateway.add(refuse, refuse, refuse)
    with pytest.raises(APIConnectionError) as caught:
        await resolve(client.chat("job-1", MESSAGES))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_read_timeout_is_not_retried(client: Client, gateway: Gateway) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    gateway.add(slow)
    with pytest.raises(APITimeoutError):
        await resolve(client.chat("job-1", MESSAGES))
    assert len(gateway.requests) == 1


async def test_job_id_falls_back_to_current_job(client: Client, gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="create_job"):
        await resolve(client.chat(messages=MESSAGES))
    with pytest.raises(ValueError, match="create_job"):
        client.chat_stream(messages=MESSAGES)
    gateway.add(
        httpx.Response(200, json=JOB_CREATED),
        httpx.Response(200, json=COMPLETION),
        httpx.Response(200, json={**JOB_CREATED, "status": "in_progress", "total_calls": 1}),
        httpx.Response(200, json=JOB_RESULT),
    )
    await resolve(client.create_job("demo"))
    await resolve(client.chat(messages=MESSAGES))
    job = await resolve(client.get_job())
    assert job.status == "in_progress"
    result = await resolve(client.complete_job(status="COMPLETED", result={"ok": True}))
    assert [r.url.path for r in gateway.requests] == [
        "/api/jobs/create",
        "/api/jobs/job-1/llm-call",
        "/api/jobs/job-1",
        "/api/jobs/job-1/complete",
    ]
    assert gateway.body() == {"status": "completed", "metadata": None, "result": {"ok": True}}
    assert isinstance(result, JobResult)
    assert result.credits_remaining == 999
    assert client.current_job_id is None


async def test_complete_other_job_keeps_current(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=JOB_CREATED), httpx.Response(200, json=JOB_RESULT))
    await resolve(client.create_job("demo"))
    await resolve(client.complete_job("job-other", "failed", {"why": "x"}))
    assert client.current_job_id == "job-1"
    assert gateway.body() == {"status": "failed", "metadata": {"why": "x"}, "result": None}


async def test_job_ids_are_url_quoted(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=COMPLETION))
    await resolve(client.chat("a/b c", MESSAGES))
    assert gateway.requests[0].url.raw_path == b"/api/jobs/a%2Fb%20c/llm-call"


async def test_chat_body_leaves_unset_options_out(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=COMPLETION))
    await resolve(
        client.chat(
            "job-1",
            MESSAGES,
            model="fast",
            max_tokens=10,
            stop=["\n"],
            tools=[{"type": "function", "function": {"name": "f"}}],
            extra_body={"seed": 3},
        )
    )
    assert gateway.body() == {
        "messages": MESSAGES,
        "model": "fast",
        "max_tokens": 10,
        "stop": ["\n"],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "seed": 3,
    }


async def test_messages_required(client: Client) -> None:
    with pytest.raises(ValueError, match="messages"):
        await resolve(client.chat("job-1"))
    with pytest.raises(TypeError):
        await resolve(client.chat("job-1", "hello"))  # type: ignore[arg-type]


async def test_unexpected_success_body(client: Client, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(APIResponseValidationError):
        await resolve(client.create_job("demo"))


class Person(BaseModel):
    name: str
    age: int


async def test_structured_output(client: Client, gateway: Gateway) -> None:
    gateway.add(
        httpx.Response(200, json=completion_with('```json\n{"name": "Ada", "age": 36}\n```'))
    )
    person = await resolve(client.structured_output("job-1", MESSAGES, response_model=Person))
    assert person == Person(name="Ada", age=36)
    fmt = gateway.body()["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == Person.model_json_schema()


async def test_structured_output_repairs_once(client: Client, gateway: Gateway) -> None:
    gateway.add(
        httpx.Response(200, json=completion_with('{"name": "Ada"}')),
        httpx.Response(200, json=completion_with('{"name": "Ada", "age": 36}')),
    )
    person = await resolve(client.structured_output("job-1", MESSAGES, response_model=Person))
    assert person.age == 36
    repair = gateway.body()["messages"]
    assert repair[:1] == MESSAGES
    assert repair[1] == {"role": "assistant", "content": '{"name": "Ada"}'}
    assert repair[2]["role"] == "user"
    assert "age" in repair[2]["content"]


async def test_structured_output_gives_up_with_validation_error(
    client: Client, gateway: Gateway
) -> None:
    gateway.add(
        httpx.Response(200, json=completion_with("not json")),
        httpx.Response(200, json=completion_with("still not json")),
    )
    with pytest.raises(ValidationError):
        await resolve(client.structured_output("job-1", MESSAGES, response_model=Person))
    assert len(gateway.requests) == 2


async def test_own_http_client_closed_borrowed_one_not(kind: str, gateway: Gateway) -> None:
    borrowed = make_client(kind, gateway)
    await resolve(borrowed.close())
    assert not borrowed._http.is_closed
    own: Client = (
        SaaSLLMClient("http://h", "t", "k")
        if kind == "async"
        else SyncSaaSLLMClient("http://h", "t", "k")
    )
    if isinstance(own, SaaSLLMClient):
        async with own:
            pass
    else:
        with own:
            pass
    assert own._http.is_closed


def test_sync_and_async_share_the_policy_code() -> None:
    shared = [
        "is_retryable_exception",
        "is_retryable_status",
        "parse_retry_after",
        "retry_delay",
        "attempt_headers",
        "chat_body",
        "complete_job_body",
        "create_job_body",
        "parse_response",
        "status_error_from_response",
        "wrap_transport_error",
        "check_answer",
        "response_format_for",
    ]
    for name in shared:
        assert getattr(saasllm._client, name) is getattr(saasllm._sync_client, name), name
    assert issubclass(SaaSLLMClient, BaseClient)
    assert issubclass(SyncSaaSLLMClient, BaseClient)


def test_sync_and_async_have_the_same_methods_and_signatures() -> None:
    public = {n for n in dir(SaaSLLMClient) if not n.startswith("_")} - {"aclose"}
    assert public == {n for n in dir(SyncSaaSLLMClient) if not n.startswith("_")}
    for name in [
        "create_job",
        "get_job",
        "complete_job",
        "chat",
        "chat_stream",
        "structured_output",
    ]:
        a = inspect.signature(getattr(SaaSLLMClient, name)).parameters
        s = inspect.signature(getattr(SyncSaaSLLMClient, name)).parameters
        assert list(a) == list(s), name


async def test_same_script_same_requests_for_both_clients() -> None:
    recorded: dict[str, list[tuple[str, str, str]]] = {}
    for kind in ("async", "sync"):
        gateway = Gateway()
        gateway.add(
            error_response(
                429, "rate_limit_error", "rate_limited", headers={"retry-after-ms": "0"}
            ),
            httpx.Response(200, json=JOB_CREATED),
            httpx.Response(
                409,
                json={
                    "error": {
                        "type": "conflict_error",
                        "code": "job_already_completed",
                        "message": "done",
                    }
                },
            ),
        )
        client = make_client(kind, gateway)
        await resolve(client.create_job("demo"))
        with pytest.raises(ConflictError):
            await resolve(client.complete_job())
        recorded[kind] = [
            (r.method, r.url.path, r.headers["x-saasllm-retry-count"]) for r in gateway.requests
        ]
    assert recorded["async"] == recorded["sync"]
