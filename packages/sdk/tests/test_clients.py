"""Both clients against a real gateway: requests, jobs, typed errors, retries, structured output.

Every exchange is over a real socket to a real gateway process; the faults come
from the fake upstream behind it (see ``tests.support.gateway.test_config``).
"""

from __future__ import annotations

import inspect
import re
import time
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel, ValidationError, field_validator

import saasllm._api_client
import saasllm._client
import saasllm._stream
import saasllm._sync_api_client
import saasllm._sync_client
import saasllm._sync_stream
from packages.sdk.tests.sdk_testkit import (
    MESSAGES,
    POEM,
    Client,
    ClientFactory,
    FakeStats,
    FlakyProxy,
    LateListener,
    OpenJob,
    Recorder,
    captive_portal,
    resolve,
)
from saasllm import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InsufficientCreditsError,
    JobResult,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SaaSLLMClient,
    StreamError,
    SyncSaaSLLMClient,
    TeamSuspendedError,
    UnprocessableEntityError,
    UpstreamTimeoutError,
)
from saasllm._base import BaseClient
from saasllm_schema import JobStatus
from saasllm_testing.fake import BAD_JSON, answer_text, example_from_schema, tokens_for
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --- requests and the job round trip ------------------------------------------------


async def test_create_job_request_and_headers(
    client: Client, recorder: Recorder, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("demo", {"k": "v"}))
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/api/jobs/create"
    assert request.headers["authorization"] == f"Bearer {team.key}"
    assert request.headers["x-team-id"] == team.team_id
    assert request.headers["x-saasllm-retry-count"] == "0"
    assert request.headers["user-agent"].startswith("saasllm-python/")
    assert UUID.match(request.headers["idempotency-key"])
    assert recorder.body() == {"job_type": "demo", "metadata": {"k": "v"}, "team_id": team.team_id}
    assert UUID.match(job_id)
    job = await resolve(client.get_job(job_id))
    assert job.job_id == job_id
    assert job.team_id == team.team_id
    assert job.job_type == "demo"
    assert job.metadata == {"k": "v"}
    assert job.status == "pending"


async def test_round_trip_create_chat_stream_complete(
    client: Client, admin: Admin, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("round-trip"))
    response = await resolve(client.chat(job_id, MESSAGES))
    assert response.choices[0].message.content == answer_text(POEM)
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens == len(tokens_for(POEM))

    stream = client.chat_stream(job_id, MESSAGES)
    assert await resolve(stream.final_text()) == answer_text(POEM)

    job = await resolve(client.get_job(job_id))
    assert job.status == "in_progress"
    assert job.total_calls == 2
    assert job.model_groups_used == ["default"]

    result = await resolve(client.complete_job(job_id, "completed", result={"ok": True}))
    assert isinstance(result, JobResult)
    assert result.status == JobStatus.COMPLETED
    assert result.total_calls == 2
    assert result.credit_applied is True
    assert result.credits_remaining == 100 - result.credits_charged
    assert admin.balance(team.team_id) == result.credits_remaining


async def test_idempotency_key_is_reused_across_retries(
    make_client: ClientFactory, recorder: Recorder, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    """The first attempt is refused at the socket; the retry reaches the gateway."""
    port = LateListener(sqlite_gateway.url)

    def open_on_retry(request: httpx.Request) -> None:
        if request.headers["x-saasllm-retry-count"] == "1":
            port.open()

    make_client.request_hooks.append(open_on_retry)
    try:
        client = make_client(port.url, team)
        job_id = await resolve(client.create_job("demo"))
        assert recorder.retry_counts() == ["0", "1"]
        keys = {r.headers["idempotency-key"] for r in recorder.requests}
        assert len(keys) == 1
        # The job exists once, made by the retry that got through.
        assert (await resolve(client.get_job(job_id))).job_type == "demo"
        # A new logical call gets a new key.
        await resolve(client.create_job("demo"))
        assert recorder.requests[-1].headers["idempotency-key"] not in keys
    finally:
        port.close()


async def test_lost_answers_are_resent_only_where_repeating_is_harmless(
    make_client: ClientFactory,
    recorder: Recorder,
    sqlite_gateway: GatewayProcess,
    admin: Admin,
    team: TeamHandle,
) -> None:
    """Jobs carry an Idempotency-Key and reads change nothing: resent after a lost answer.
    An LLM call that reached the gateway may have cost tokens: resent only after a
    "try again" status, which comes before the first byte and charges nothing."""
    proxy = FlakyProxy(sqlite_gateway.url)
    try:
        client = make_client(proxy.url, team, max_retries=1)
        proxy.fail("drop")
        job_id = await resolve(client.create_job("demo"))
        assert recorder.retry_counts() == ["0", "1"]
        jobs = admin.http.get("/admin/jobs", params={"team_id": team.team_id}).json()["data"]
        assert [j["job_id"] for j in jobs] == [job_id]

        recorder.clear()
        proxy.fail("drop")
        with pytest.raises(APIConnectionError) as lost:
            await resolve(client.chat(job_id, MESSAGES))
        assert isinstance(lost.value.__cause__, httpx.RemoteProtocolError)
        assert recorder.retry_counts() == ["0"]

        calls: list[tuple[str, Callable[[], Any]]] = [
            ("503", lambda: client.chat(job_id, MESSAGES)),
            ("503", lambda: client.chat_stream(job_id, MESSAGES).until_done()),
            ("drop", lambda: client.get_job(job_id)),
        ]
        for fault, call in calls:
            recorder.clear()
            proxy.fail(fault)
            await resolve(call())
            assert recorder.retry_counts() == ["0", "1"]

        recorder.clear()
        proxy.fail("drop")
        result = await resolve(client.complete_job(job_id))
        assert recorder.retry_counts() == ["0", "1"]
        assert result.credits_charged == 1
        assert admin.balance(team.team_id) == 99 == result.credits_remaining
    finally:
        proxy.close()


async def test_chat_sends_no_idempotency_key(client: Client, recorder: Recorder) -> None:
    job_id = await resolve(client.create_job("demo"))
    await resolve(client.chat(job_id, MESSAGES))
    assert recorder.paths()[-1].endswith("/llm-call")
    assert "idempotency-key" not in recorder.requests[-1].headers


async def test_job_id_falls_back_to_current_job(client: Client, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="create_job"):
        await resolve(client.chat(messages=MESSAGES))
    with pytest.raises(ValueError, match="create_job"):
        client.chat_stream(messages=MESSAGES)
    assert recorder.requests == []
    job_id = await resolve(client.create_job("demo"))
    assert client.current_job_id == job_id
    response = await resolve(client.chat(messages=MESSAGES))
    assert response.choices[0].message["content"] == answer_text(POEM)
    job = await resolve(client.get_job())
    assert job.status == "in_progress"
    assert job.total_calls == 1
    result = await resolve(client.complete_job(status="COMPLETED", result={"ok": True}))
    assert recorder.paths() == [
        "/api/jobs/create",
        f"/api/jobs/{job_id}/llm-call",
        f"/api/jobs/{job_id}",
        f"/api/jobs/{job_id}/complete",
    ]
    assert recorder.body() == {"status": "completed", "result": {"ok": True}}
    assert isinstance(result, JobResult)
    assert result.status == JobStatus.COMPLETED
    assert result.total_calls == 1
    assert client.current_job_id is None


async def test_complete_other_job_keeps_current(client: Client, recorder: Recorder) -> None:
    first = await resolve(client.create_job("demo"))
    second = await resolve(client.create_job("demo"))
    assert client.current_job_id == second
    result = await resolve(client.complete_job(first, "failed", {"why": "x"}))
    assert result.status == "failed"
    assert result.credit_applied is False
    assert client.current_job_id == second
    assert recorder.body() == {"status": "failed", "metadata": {"why": "x"}}


async def test_job_ids_are_url_quoted(client: Client, recorder: Recorder) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        await resolve(client.chat("a b?c", MESSAGES))
    assert recorder.requests[0].url.raw_path == b"/api/jobs/a%20b%3Fc/llm-call"
    # The gateway got the id whole, and says what is wrong with it.
    assert caught.value.param == "job_id"
    # A slash is quoted too (the server's router decodes it back, so no route matches).
    with pytest.raises(APIStatusError):
        await resolve(client.chat("a/b", MESSAGES))
    assert recorder.requests[1].url.raw_path == b"/api/jobs/a%2Fb/llm-call"


async def test_chat_body_leaves_unset_options_out(
    client: Client, recorder: Recorder, fake: FakeStats
) -> None:
    job_id = await resolve(client.create_job("demo"))
    response = await resolve(
        client.chat(
            job_id,
            MESSAGES,
            model="default",
            max_tokens=2,
            stop=["\n\n\n"],
            extra_body={"seed": 3},
        )
    )
    assert recorder.body() == {
        "messages": MESSAGES,
        "model": "default",
        "max_tokens": 2,
        "stop": ["\n\n\n"],
        "seed": 3,
    }
    # The options reached the upstream through the gateway.
    assert response.choices[0].message.content == "".join(tokens_for(POEM, 2))
    assert response.choices[0].finish_reason == "length"
    last = fake.read()["last_request"]
    assert last["max_tokens"] == 2
    assert "temperature" not in last


async def test_messages_required(client: Client, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="messages"):
        await resolve(client.chat("job-1"))
    with pytest.raises(TypeError):
        await resolve(client.chat("job-1", "hello"))  # type: ignore[arg-type]
    assert recorder.requests == []


async def test_unexpected_success_body(make_client: ClientFactory, team: TeamHandle) -> None:
    with captive_portal() as portal:
        client = make_client(portal, team)
        with pytest.raises(APIResponseValidationError) as caught:
            await resolve(client.create_job("demo"))
    assert caught.value.response is not None
    assert caught.value.response.status_code == 200
    assert "JobCreated" in str(caught.value)


async def test_foreign_server_error_body(
    make_client: ClientFactory, fake_upstream: Any, team: TeamHandle
) -> None:
    """base_url pointing at an OpenAI server instead of the gateway: a plain-text 404."""
    client = make_client(fake_upstream.url, team)
    with pytest.raises(NotFoundError) as caught:
        await resolve(client.create_job("demo"))
    assert caught.value.response.status_code == 404
    assert caught.value.error_type is None
    assert "Not Found" in caught.value.message


# --- typed errors -------------------------------------------------------------------


def check_status_error(
    error: APIStatusError, status: int, code: str, recorder: Recorder, attempts: int = 1
) -> None:
    """The documented contract: an httpx.HTTPStatusError whose response can be read."""
    assert isinstance(error, httpx.HTTPStatusError)
    assert not isinstance(error, StreamError)
    assert error.response.status_code == status
    assert error.status_code == status
    assert error.response.json()["error"]["code"] == code
    assert error.error_code == code
    assert len(recorder.requests) == attempts


async def test_401_wrong_key(
    make_client: ClientFactory, recorder: Recorder, sqlite_gateway: GatewayProcess
) -> None:
    client = make_client(sqlite_gateway.url, TeamHandle("acme-corp", "sk-wrong-key-0000000000"))
    with pytest.raises(AuthenticationError) as caught:
        await resolve(client.create_job("demo"))
    check_status_error(caught.value, 401, "invalid_api_key", recorder)


async def test_403_insufficient_credits_is_not_retried(
    client: Client, recorder: Recorder, admin: Admin, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("demo"))
    admin.set_balance(team.team_id, 0)
    recorder.clear()
    with pytest.raises(InsufficientCreditsError) as caught:
        await resolve(client.chat(job_id, MESSAGES))
    check_status_error(caught.value, 403, "insufficient_credits", recorder)
    # New work is refused, but the job already held its price: completing it settles.
    result = await resolve(client.complete_job(job_id, "completed"))
    assert result.status == "completed"
    assert client.current_job_id is None


async def test_403_model_group_not_allowed_is_not_retried(
    client: Client, recorder: Recorder
) -> None:
    job_id = await resolve(client.create_job("demo"))
    recorder.clear()
    with pytest.raises(PermissionDeniedError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model_group="secret"))
    assert type(caught.value) is PermissionDeniedError
    check_status_error(caught.value, 403, "model_group_not_allowed", recorder)


async def test_403_team_suspended(
    client: Client, recorder: Recorder, admin: Admin, team: TeamHandle
) -> None:
    response = admin.http.post(f"/admin/teams/{team.team_id}/suspend")
    assert response.status_code == 200, response.text
    with pytest.raises(TeamSuspendedError) as caught:
        await resolve(client.create_job("demo"))
    check_status_error(caught.value, 403, "team_suspended", recorder)


async def test_404_unknown_job_and_unknown_group(client: Client, recorder: Recorder) -> None:
    with pytest.raises(NotFoundError) as caught:
        await resolve(client.get_job(str(uuid.uuid4())))
    check_status_error(caught.value, 404, "job_not_found", recorder)
    job_id = await resolve(client.create_job("demo"))
    recorder.clear()
    with pytest.raises(NotFoundError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model="no-such-group"))
    check_status_error(caught.value, 404, "model_group_not_found", recorder)


async def test_409_completing_twice_is_not_retried(client: Client, recorder: Recorder) -> None:
    job_id = await resolve(client.create_job("demo"))
    await resolve(client.complete_job(job_id))
    recorder.clear()
    with pytest.raises(ConflictError) as caught:
        await resolve(client.complete_job(job_id))
    check_status_error(caught.value, 409, "job_already_completed", recorder)


async def test_422_is_not_retried(client: Client, recorder: Recorder) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        await resolve(client.get_job("not-a-job-id"))
    check_status_error(caught.value, 422, "validation_error", recorder)


# --- retries ---------------------------------------------------------------------------


async def test_429_with_retry_after_is_retried_then_raised(
    open_job: OpenJob, recorder: Recorder, fake: FakeStats
) -> None:
    client, job_id = await open_job(max_retries=1)
    before = fake.requests_for("fake-429-r1")
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model="ratelimited"))
    assert time.monotonic() - started >= 1.0  # it waited the gateway's Retry-After: 1
    check_status_error(caught.value, 429, "upstream_rate_limited", recorder, attempts=2)
    assert recorder.retry_counts() == ["0", "1"]
    assert caught.value.retry_after == 1.0
    assert fake.requests_for("fake-429-r1") - before == 2


async def test_retry_after_beyond_cap_raises_immediately(
    open_faults_job: OpenJob, recorder: Recorder
) -> None:
    client, job_id = await open_faults_job()
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model="ratelimited-long"))
    assert time.monotonic() - started < 5
    assert caught.value.retry_after == 120.0
    check_status_error(caught.value, 429, "upstream_rate_limited", recorder)


async def test_max_retries_zero(open_job: OpenJob, recorder: Recorder, fake: FakeStats) -> None:
    client, job_id = await open_job(max_retries=0)
    before = fake.requests_for("fake-429-r1")
    with pytest.raises(RateLimitError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model="ratelimited"))
    check_status_error(caught.value, 429, "upstream_rate_limited", recorder)
    assert fake.requests_for("fake-429-r1") - before == 1


async def test_504_is_retried(
    open_faults_job: OpenJob, recorder: Recorder, fake: FakeStats
) -> None:
    """The faults gateway gives up on a silent upstream after 0.5 s (first chunk)."""
    client, job_id = await open_faults_job(max_retries=1)
    before = fake.requests_for("fake-hang")
    with pytest.raises(UpstreamTimeoutError) as caught:
        await resolve(client.chat_stream(job_id, MESSAGES, model="hang").until_done())
    check_status_error(caught.value, 504, "upstream_timeout", recorder, attempts=2)
    assert recorder.retry_counts() == ["0", "1"]
    assert fake.requests_for("fake-hang") - before == 2


async def test_connect_errors_are_retried_then_raised(
    make_client: ClientFactory, recorder: Recorder, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    closed = LateListener(sqlite_gateway.url)  # bound, never listening: refused
    try:
        client = make_client(closed.url, team, max_retries=2)
        with pytest.raises(APIConnectionError) as caught:
            await resolve(client.create_job("demo"))
    finally:
        closed.close()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert not isinstance(caught.value, httpx.HTTPError)
    assert recorder.retry_counts() == ["0", "1", "2"]
    assert len({r.headers["idempotency-key"] for r in recorder.requests}) == 1


async def test_read_timeout_is_not_retried(
    open_job: OpenJob, recorder: Recorder, fake: FakeStats
) -> None:
    """The request may have reached the upstream: resending it could double an effect."""
    client, job_id = await open_job(timeout=0.5)
    before = fake.requests_for("fake-hang")
    with pytest.raises(APITimeoutError) as caught:
        await resolve(client.chat(job_id, MESSAGES, model="hang"))
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(recorder.requests) == 1
    assert fake.requests_for("fake-hang") - before == 1


# --- structured output ------------------------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


class SecondThoughts(BaseModel):
    """Rejects the first answer it is shown: a rule a JSON schema cannot carry.

    The fake upstream always answers a schema with the same valid document, so
    this is how a test gets "invalid first, valid after the repair turn".
    """

    name: str
    age: int
    looks: ClassVar[int] = 0

    @field_validator("name")
    @classmethod
    def _second_look(cls, value: str) -> str:
        cls.looks += 1
        if cls.looks == 1:
            raise ValueError("the name must be checked twice")
        return value


def expected_person() -> Person:
    return Person.model_validate(example_from_schema(Person.model_json_schema()))


async def test_structured_output(
    client: Client, recorder: Recorder, fake: FakeStats, team: TeamHandle
) -> None:
    job_id = await resolve(client.create_job("demo"))
    person = await resolve(client.structured_output(job_id, MESSAGES, response_model=Person))
    assert isinstance(person, Person)
    assert person == expected_person()
    fmt = recorder.body()["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == Person.model_json_schema()
    # The gateway passed the format on to the upstream unchanged.
    assert fake.read()["last_request"]["response_format"] == fmt


async def test_structured_output_repairs_once(client: Client, recorder: Recorder) -> None:
    SecondThoughts.looks = 0
    job_id = await resolve(client.create_job("demo"))
    recorder.clear()
    answer = await resolve(
        client.structured_output(job_id, MESSAGES, response_model=SecondThoughts)
    )
    assert answer.name == expected_person().name
    assert len(recorder.requests) == 2
    repair = recorder.body()["messages"]
    assert repair[:1] == MESSAGES
    assert repair[1]["role"] == "assistant"
    assert Person.model_validate_json(repair[1]["content"]) == expected_person()
    assert repair[2]["role"] == "user"
    assert "checked twice" in repair[2]["content"]


async def test_structured_output_badjson_repairs_once_then_raises(
    open_faults_job: OpenJob, recorder: Recorder, fake: FakeStats
) -> None:
    client, job_id = await open_faults_job()
    before = fake.requests_for("fake-badjson")
    with pytest.raises(ValidationError):
        await resolve(
            client.structured_output(job_id, MESSAGES, response_model=Person, model="badjson")
        )
    # Exactly one repair call: the first answer and the repair both reached the upstream.
    assert fake.requests_for("fake-badjson") - before == 2
    assert len(recorder.requests) == 2
    repair = recorder.body()["messages"]
    assert repair[1] == {"role": "assistant", "content": BAD_JSON}
    assert "not valid" in repair[2]["content"]
    # No repairs asked for: one call, then the error.
    before = fake.requests_for("fake-badjson")
    with pytest.raises(ValidationError):
        await resolve(
            client.structured_call(
                job_id, MESSAGES, response_model=Person, model="badjson", max_repairs=0
            )
        )
    assert fake.requests_for("fake-badjson") - before == 1


# --- client lifecycle and the shared code -------------------------------------------------


async def test_own_http_client_closed_borrowed_one_not(
    make_client: ClientFactory, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    borrowed = make_client(sqlite_gateway.url, team)
    await resolve(borrowed.create_job("demo"))
    await resolve(borrowed.close())
    assert not borrowed._http.is_closed
    own: Client = (
        SaaSLLMClient(sqlite_gateway.url, team.team_id, team.key)
        if make_client.kind == "async"
        else SyncSaaSLLMClient(sqlite_gateway.url, team.team_id, team.key)
    )
    if isinstance(own, SaaSLLMClient):
        async with own:
            await own.create_job("demo")
    else:
        with own:
            own.create_job("demo")
    assert own._http.is_closed


@pytest.mark.parametrize(
    ("source", "twin"),
    [
        (saasllm._api_client, saasllm._sync_api_client),
        (saasllm._client, saasllm._sync_client),
        (saasllm._stream, saasllm._sync_stream),
    ],
)
def test_sync_and_async_share_everything_but_the_io(source: ModuleType, twin: ModuleType) -> None:
    """A name both flavours import is the same object: only I/O shells are twinned."""
    shared = [
        name
        for name, value in vars(source).items()
        if not name.startswith("__")
        and name in vars(twin)
        and getattr(value, "__module__", source.__name__) != source.__name__
    ]
    assert shared
    for name in shared:
        assert getattr(source, name) is getattr(twin, name), name
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


async def test_same_calls_same_requests_for_both_clients(
    sqlite_gateway: GatewayProcess, admin: Admin
) -> None:
    recorded: dict[str, list[tuple[str, str, str, bool]]] = {}
    for kind in ("async", "sync"):
        recorder = Recorder()
        factory = ClientFactory(kind, recorder)
        client = factory(sqlite_gateway.url, admin.team(credits=10), max_retries=0)
        try:
            job_id = await resolve(client.create_job("demo"))
            await resolve(client.chat(job_id, MESSAGES))
            await resolve(client.chat_stream(job_id, MESSAGES).until_done())
            with pytest.raises(RateLimitError):
                await resolve(client.chat(job_id, MESSAGES, model="ratelimited"))
            await resolve(client.get_job())
            await resolve(client.complete_job())
            with pytest.raises(ConflictError):
                await resolve(client.complete_job(job_id))
        finally:
            await factory.aclose()
        recorded[kind] = [
            (
                r.method,
                r.url.path.replace(job_id, "{job}"),
                r.headers["x-saasllm-retry-count"],
                "idempotency-key" in r.headers,
            )
            for r in recorder.requests
        ]
    assert recorded["async"] == recorded["sync"]
    assert len(recorded["async"]) == 7
