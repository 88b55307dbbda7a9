"""Tokens cannot be had without paying (issue 11), through the real API on SQLite and
PostgreSQL: holds bound what calls use, every served token is paid for whatever the job's
status, a stream the upstream cut or the client left pays for what it delivered, an operator
may waive upstream failures, and creating jobs counts against the team's rate.

Expected charges come from the fake upstream's deterministic counts (prompt: words + 3 per
message; completion: one token per content chunk) or from the call records the gateway
reports, never from the gateway's own arithmetic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from saasllm_server.domain.billing import PROMPT_FIXED_TOKENS, PROMPT_TOKENS_PER_MESSAGE
from saasllm_testing.fake import FakeUpstreamProcess, count_prompt_tokens, tokens_for
from tests.support import db, services
from tests.support.gateway import GatewayProcess
from tests.support.gateway import test_config as gateway_config
from tests.support.tenants import Admin, TeamHandle

PROMPT = "one two three four five"
MESSAGES = [{"role": "user", "content": PROMPT}]
MAX_TOKENS = 4
INPUT_PRICE, OUTPUT_PRICE = 0.000001, 0.000002  # the "priced" deployment's prices
CUT_AFTER = 5  # the "cut" group's upstream breaks off after this many content chunks
CREDITS = 10_000  # enough for calls without max_tokens, which hold 1,024 output tokens


def _client(gateway: GatewayProcess, team: TeamHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gateway.url, headers=team.headers, timeout=60)


def _is_content(line: str) -> bool:
    return line.startswith("data:") and '"content":"' in line and '"content":""' not in line


async def _create_job(client: httpx.AsyncClient) -> str:
    created = await client.post("/api/jobs/create", json={"job_type": "money"})
    assert created.status_code == 200, created.text
    job_id: str = created.json()["job_id"]
    return job_id


async def _complete(client: httpx.AsyncClient, job_id: str, status: str) -> dict[str, Any]:
    done = await client.post(f"/api/jobs/{job_id}/complete", json={"status": status})
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def _jobs(admin: Admin, team: TeamHandle) -> list[dict[str, Any]]:
    response = admin.http.get("/admin/jobs", params={"team_id": team.team_id})
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["data"]
    return jobs


async def _settled_job(admin: Admin, team: TeamHandle, within_s: float = 10.0) -> dict[str, Any]:
    """The team's only job once the gateway closed it (a one-call stream settles after its
    response ended)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        jobs = await asyncio.to_thread(_jobs, admin, team)
        assert len(jobs) == 1, jobs
        if jobs[0]["status"] not in ("pending", "in_progress"):
            return jobs[0]
        assert asyncio.get_running_loop().time() < deadline, jobs[0]
        await asyncio.sleep(0.05)


async def _cut_stream(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> int:
    """Stream from the upstream that breaks off; the content events the client got."""
    received = 0
    async with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            received += _is_content(line)
            if line.startswith("event: error"):
                break
    return received


# (1) Holds are bounds ---------------------------------------------------------------------

ONE_LETTER_WORDS = " ".join(["a"] * 120)
"""A prompt with more tokens than a third of its JSON bytes: the estimate holds used to take
("prompt JSON bytes / 3") was below what such a prompt costs."""


async def test_concurrent_streams_in_one_job_never_use_more_than_the_team_holds(
    gateway: GatewayProcess, admin: Admin
) -> None:
    """Six concurrent streams in one job. With the old estimate all six fitted in 700
    credits (about 94 each) and used 6 x 127 = 762 tokens: more than the team had. Now
    each holds its prompt's bound plus its max_tokens; the ones that do not fit are refused,
    the others use no more than they hold, and the job completes without debt."""
    credits = 700
    team = admin.team(credits=credits, budget_mode="per_token", tokens_per_credit=1)
    messages = [{"role": "user", "content": ONE_LETTER_WORDS}]
    body = {"model": "slow", "messages": messages, "max_tokens": MAX_TOKENS}
    used_per_call = count_prompt_tokens(messages) + len(tokens_for(ONE_LETTER_WORDS, MAX_TOKENS))
    hold_per_call = (
        PROMPT_FIXED_TOKENS + PROMPT_TOKENS_PER_MESSAGE + len(ONE_LETTER_WORDS) + MAX_TOKENS
    )
    assert 6 * used_per_call > credits  # the attack: together they would overspend
    async with _client(gateway, team) as client:
        job_id = await _create_job(client)

        async def stream() -> tuple[int, str]:
            path = f"/api/jobs/{job_id}/llm-call-stream"
            async with client.stream("POST", path, json=body) as response:
                text = (await response.aread()).decode()
                return response.status_code, text

        outcomes = await asyncio.gather(*[stream() for _ in range(6)])
        admitted = [text for status, text in outcomes if status == 200]
        refused = [text for status, text in outcomes if status != 200]
        assert len(admitted) == (credits - 1) // hold_per_call
        assert all('"insufficient_credits"' in text for text in refused), refused
        assert all("data: [DONE]" in text for text in admitted)
        reserved = (await asyncio.to_thread(admin.get_team, team.team_id))["credits_reserved"]
        assert reserved == 1 + len(admitted) * hold_per_call <= credits
        result = await _complete(client, job_id, "completed")
    used = result["costs"]["total_tokens"]
    assert used == len(admitted) * used_per_call
    assert used <= reserved - 1  # no call outgrew its hold
    assert result["credits_charged"] == used
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert view["credits_remaining"] == credits - used >= 0
    assert (view["credits_reserved"], view["debt"]) == (0, 0)


async def test_a_call_without_max_tokens_is_bounded_on_every_path(
    gateway: GatewayProcess, admin: Admin
) -> None:
    """The output limit the hold assumes is sent upstream on every call path, streamed or
    not: the "flood" upstream would send 200,000 tokens to anyone who let it."""
    team = admin.team(credits=100_000, budget_mode="per_token", tokens_per_credit=1)
    body = {"model": "flood", "messages": MESSAGES}
    async with _client(gateway, team) as client:
        job_id = await _create_job(client)
        headers = {"X-Job-Id": job_id}
        paths = [
            ("POST", f"/api/jobs/{job_id}/llm-call", body),
            ("STREAM", f"/api/jobs/{job_id}/llm-call-stream", body),
            ("POST", "/v1/chat/completions", body),
            ("STREAM", "/v1/chat/completions", {**body, "stream": True}),
            ("POST", "/api/jobs/create-and-call", {**body, "job_type": "flood"}),
            ("STREAM", "/api/jobs/create-and-call-stream", {**body, "job_type": "flood"}),
        ]
        for method, path, json_body in paths:
            if method == "POST":
                answer = await client.post(path, json=json_body, headers=headers)
                assert answer.status_code == 200, (path, answer.text)
            else:
                async with client.stream("POST", path, json=json_body, headers=headers) as r:
                    assert r.status_code == 200, path
                    assert "data: [DONE]" in (await r.aread()).decode()
        await _complete(client, job_id, "completed")
    calls = await db.calls(gateway.database_url, team.team_id, len(paths))
    assert len(calls) == len(paths)
    assert {c["completion_tokens"] for c in calls} == {1024}  # the default hold_max_tokens


# (2) Every served token is paid for ----------------------------------------------------------


def _usd_credits(prompt: int, completion: int, credits_per_dollar: int) -> int:
    cost = Decimal(prompt) * Decimal(str(INPUT_PRICE)) + Decimal(completion) * Decimal(
        str(OUTPUT_PRICE)
    )
    return int((cost * credits_per_dollar).quantize(1, rounding=ROUND_CEILING))


@pytest.mark.parametrize("status", ["failed", "cancelled"])
@pytest.mark.parametrize("mode", ["per_token", "per_usd", "per_job"])
async def test_a_job_closed_as_failed_pays_for_its_answered_calls(
    gateway: GatewayProcess, admin: Admin, mode: str, status: str
) -> None:
    """Three answered calls, one that never answered, then ``failed`` (or ``cancelled``):
    under token and dollar pricing the answered tokens are charged, the unanswered call
    costs nothing; under per_job a failed job stays free."""
    group = "priced" if mode == "per_usd" else "default"
    team = admin.team(
        credits=CREDITS,
        budget_mode=mode,
        tokens_per_credit=1,
        credits_per_dollar=1_000_000,
        markup_percent=0,
        credits_per_job=3,
    )
    async with _client(gateway, team) as client:
        job_id = await _create_job(client)
        for _ in range(3):
            answer = await client.post(
                f"/api/jobs/{job_id}/llm-call",
                json={"model": group, "messages": MESSAGES, "max_tokens": MAX_TOKENS},
            )
            assert answer.status_code == 200, answer.text
        refused = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"model": "ratelimited", "messages": MESSAGES}
        )
        assert refused.status_code == 429
        result = await _complete(client, job_id, status)
    prompt = 3 * count_prompt_tokens(MESSAGES)
    completion = 3 * len(tokens_for(PROMPT, MAX_TOKENS))
    assert result["costs"]["total_calls"] == 4
    assert (result["costs"]["prompt_tokens"], result["costs"]["completion_tokens"]) == (
        prompt,
        completion,
    )
    expected = {
        "per_token": prompt + completion,
        "per_usd": _usd_credits(prompt, completion, 1_000_000),
        "per_job": 0,
    }[mode]
    assert expected > 0 or mode == "per_job"
    assert result["credits_charged"] == expected
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"]) == (CREDITS - expected, 0)


# (3) A cut stream pays for what it delivered --------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_a_stream_the_upstream_cut_pays_for_its_delivered_tokens(
    gateway: GatewayProcess, admin: Admin, status: str
) -> None:
    team = admin.team(credits=CREDITS, budget_mode="per_token", tokens_per_credit=1)
    async with _client(gateway, team) as client:
        job_id = await _create_job(client)
        body = {"model": "cut", "messages": MESSAGES}
        received = await _cut_stream(client, f"/api/jobs/{job_id}/llm-call-stream", body)
        assert received == CUT_AFTER
        result = await _complete(client, job_id, status)
    [call] = result["calls"]
    assert call["status"] == "failed"
    # No usage event came: the prompt counted by the tokenizer, one token per content event.
    assert call["completion_tokens"] == CUT_AFTER
    assert call["prompt_tokens"] > 0
    assert result["credits_charged"] == call["prompt_tokens"] + CUT_AFTER


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/jobs/create-and-call-stream"])
@pytest.mark.parametrize("mode", ["per_token", "per_job"])
async def test_a_one_call_stream_the_upstream_cut_is_completed_and_paid(
    gateway: GatewayProcess, admin: Admin, path: str, mode: str
) -> None:
    """The client got text: the gateway-owned job is completed and charged (per_token: the
    delivered tokens; per_job: the job's price), where it used to fail for free."""
    team = admin.team(credits=CREDITS, budget_mode=mode, tokens_per_credit=1, credits_per_job=2)
    body = {"job_type": "cut", "model": "cut", "stream": True, "messages": MESSAGES}
    async with _client(gateway, team) as client:
        assert await _cut_stream(client, path, body) == CUT_AFTER
    job = await _settled_job(admin, team)
    [call] = await db.calls(gateway.database_url, team.team_id, 1)
    assert (call["status"], call["completion_tokens"]) == ("failed", CUT_AFTER)
    assert job["status"] == "completed"
    expected = call["prompt_tokens"] + CUT_AFTER if mode == "per_token" else 2
    assert job["credits_charged"] == expected
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"]) == (CREDITS - expected, 0)


async def test_a_stream_the_client_left_pays_for_what_was_relayed(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=CREDITS, budget_mode="per_token", tokens_per_credit=1)
    async with _client(gateway, team) as client:
        job_id = await _create_job(client)
        body = {"model": "slow", "messages": MESSAGES, "max_tokens": 40}
        received = 0
        async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
            async for line in r.aiter_lines():
                received += _is_content(line)
                if received == 3:
                    break
        result = await _complete(client, job_id, "cancelled")
    [call] = result["calls"]
    assert call["status"] == "cancelled"
    # What the gateway had relayed when it noticed: at least what the client read.
    assert 3 <= call["completion_tokens"] < len(tokens_for(PROMPT, 40))
    assert call["prompt_tokens"] > 0
    assert result["credits_charged"] == call["prompt_tokens"] + call["completion_tokens"]


# The waiver -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def waiving_gateway(
    request: pytest.FixtureRequest, workdir: Path, fake_upstream: FakeUpstreamProcess
) -> Iterator[GatewayProcess]:
    """A gateway whose operator waives charges for upstream failures."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'waiving.db'}"
    else:
        url = services.create_database()
    gw = GatewayProcess.start(
        config=gateway_config(fake_upstream.base_url, None),
        database_url=url,
        workdir=workdir,
        env={"SAASLLM_WAIVE_UPSTREAM_FAILURES": "true"},
    )
    yield gw
    gw.stop()
    if request.param == "postgres":
        services.drop_database(url)


@pytest.mark.parametrize("mode", ["per_token", "per_job"])
async def test_waived_upstream_failures_are_not_charged(
    waiving_gateway: GatewayProcess, mode: str
) -> None:
    admin = Admin(waiving_gateway.url)
    team = admin.team(credits=CREDITS, budget_mode=mode, tokens_per_credit=1, credits_per_job=2)
    body = {"model": "cut", "stream": True, "messages": MESSAGES}
    async with _client(waiving_gateway, team) as client:
        assert await _cut_stream(client, "/v1/chat/completions", body) == CUT_AFTER
        job = await _settled_job(admin, team)
        assert (job["status"], job["credits_charged"]) == ("failed", 0)

        # In the client's own job, the answered call pays and the cut one does not.
        job_id = await _create_job(client)
        cut = {"model": "cut", "messages": MESSAGES}
        await _cut_stream(client, f"/api/jobs/{job_id}/llm-call-stream", cut)
        answer = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES, "max_tokens": MAX_TOKENS}
        )
        assert answer.status_code == 200, answer.text
        result = await _complete(client, job_id, "completed")
    assert sorted(c["status"] for c in result["calls"]) == ["failed", "success"]
    answered = count_prompt_tokens(MESSAGES) + len(tokens_for(PROMPT, MAX_TOKENS))
    assert result["credits_charged"] == (answered if mode == "per_token" else 2)
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"]) == (
        CREDITS - result["credits_charged"],
        0,
    )


async def test_a_client_that_left_is_charged_even_under_the_waiver(
    waiving_gateway: GatewayProcess,
) -> None:
    admin = Admin(waiving_gateway.url)
    team = admin.team(credits=CREDITS, budget_mode="per_token", tokens_per_credit=1)
    body = {"model": "slow", "stream": True, "max_tokens": 40, "messages": MESSAGES}
    async with _client(waiving_gateway, team) as client:
        received = 0
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            async for line in r.aiter_lines():
                received += _is_content(line)
                if received == 3:
                    break
    job = await _settled_job(admin, team)
    [call] = await db.calls(waiving_gateway.database_url, team.team_id, 1)
    assert call["status"] == "cancelled"
    assert job["status"] == "completed"
    assert job["credits_charged"] == call["prompt_tokens"] + call["completion_tokens"] > 3


# (8) Creating jobs counts against the team's rate ---------------------------------------------


async def test_creating_jobs_counts_against_the_requests_per_minute(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=100, rpm_limit=3)
    async with _client(gateway, team) as client:
        for _ in range(3):
            await _create_job(client)
        limited = await client.post("/api/jobs/create", json={"job_type": "money"})
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert len(await asyncio.to_thread(_jobs, admin, team)) == 3


async def test_a_one_call_job_counts_once_and_over_the_rate_makes_no_job(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=100, rpm_limit=2)
    body = {"job_type": "rate", "messages": MESSAGES, "max_tokens": MAX_TOKENS}
    async with _client(gateway, team) as client:
        for _ in range(2):
            answer = await client.post("/api/jobs/create-and-call", json=body)
            assert answer.status_code == 200, answer.text
        limited = await client.post("/v1/chat/completions", json=body)
    assert limited.status_code == 429, limited.text
    jobs = await asyncio.to_thread(_jobs, admin, team)
    assert sorted(j["status"] for j in jobs) == ["completed", "completed"]
    assert (await asyncio.to_thread(admin.get_team, team.team_id))["credits_remaining"] == 98


async def test_a_stream_racing_its_jobs_completion_is_paid_for(
    gateway: GatewayProcess, admin: Admin
) -> None:
    """A stream and the job's completion sent at the same moment, many times. Before, a
    completion that came between the call's hold and its start closed the job, released the
    hold and charged 1 credit for a stream of thousands of tokens (12 of 60 tries on
    PostgreSQL). Now either the call is refused (the job closed first) or the completion
    waits for it and charges what it served."""
    team = admin.team(
        credits=1_000_000, budget_mode="per_token", tokens_per_credit=100, model_groups=["flood"]
    )
    body = {"model": "flood", "messages": MESSAGES, "max_tokens": 3000}
    async with _client(gateway, team) as client:
        for attempt in range(30):
            job_id = await _create_job(client)

            async def stream(job_id: str = job_id) -> tuple[int, int]:
                path = f"/api/jobs/{job_id}/llm-call-stream"
                async with client.stream("POST", path, json=body) as response:
                    if response.status_code != 200:
                        return response.status_code, 0
                    events = [line async for line in response.aiter_lines() if _is_content(line)]
                    return 200, len(events)

            async def complete(job_id: str = job_id, delay: float = attempt / 3000) -> Any:
                await asyncio.sleep(delay)
                return await client.post(
                    f"/api/jobs/{job_id}/complete", json={"status": "completed"}
                )

            (status, served), done = await asyncio.gather(stream(), complete())
            assert done.status_code == 200, done.text
            if status != 200:
                assert served == 0
                continue
            assert served > 1000, served
            assert done.json()["credits_charged"] >= served // 100, (attempt, served, done.text)
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert view["credits_reserved"] == 0
