"""Each budget mode charges the right amount through the real API, on SQLite and PostgreSQL.

The fake upstream's token counts are deterministic (prompt: words + 3 per
message; completion: one token per content chunk), so every expected charge is
computed here from the same rules, independently of the gateway.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from typing import Any

import httpx

from saasllm_server.domain.billing import PROMPT_FIXED_TOKENS, PROMPT_TOKENS_PER_MESSAGE
from saasllm_testing.fake import count_prompt_tokens, tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

PROMPT = "one two three four five"
MESSAGES = [{"role": "user", "content": PROMPT}]
MAX_TOKENS = 4
INPUT_PRICE, OUTPUT_PRICE = 0.000001, 0.000002  # the "priced" deployment's litellm prices


def _client(gateway: GatewayProcess, team: TeamHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gateway.url, headers=team.headers, timeout=30)


def _call_tokens() -> tuple[int, int]:
    return count_prompt_tokens(MESSAGES), len(tokens_for(PROMPT, MAX_TOKENS))


async def _run_job(
    gateway: GatewayProcess, team: TeamHandle, calls: int, *, group: str = "default"
) -> dict[str, Any]:
    async with _client(gateway, team) as client:
        created = await client.post("/api/jobs/create", json={"job_type": "billing"})
        assert created.status_code == 200, created.text
        job_id = created.json()["job_id"]
        for _ in range(calls):
            answer = await client.post(
                f"/api/jobs/{job_id}/llm-call",
                json={"messages": MESSAGES, "max_tokens": MAX_TOKENS, "model": group},
            )
            assert answer.status_code == 200, answer.text
        done = await client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text
        result: dict[str, Any] = done.json()
        return result


async def _charges(gateway: GatewayProcess, team: TeamHandle) -> list[dict[str, Any]]:
    rows = await db.ledger(gateway.database_url, team.team_id)
    return [row for row in rows if row["kind"] == "job_charge"]


async def test_per_job_charges_its_price_and_holds_it_at_creation(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=5, credits_per_job=3)
    result = await _run_job(gateway, team, calls=2)
    assert result["credits_charged"] == 3
    assert result["credits_remaining"] == 2
    async with _client(gateway, team) as client:
        # 2 left, a job needs 3 held: refused before any work starts.
        refused = await client.post("/api/jobs/create", json={"job_type": "billing"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_credits"
    charges = await _charges(gateway, team)
    assert [(c["amount"], c["balance_before"], c["balance_after"]) for c in charges] == [(-3, 5, 2)]


async def test_per_token_rounds_up_once_per_job(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=100, budget_mode="per_token", tokens_per_credit=10)
    prompt, completion = _call_tokens()
    result = await _run_job(gateway, team, calls=3)
    total = 3 * (prompt + completion)
    assert result["costs"]["total_tokens"] == total
    # Once per job: ceil(3 x 12 / 10) = 4, not 3 x ceil(12 / 10) = 6.
    assert result["credits_charged"] == math.ceil(total / 10) == 4
    assert result["credits_remaining"] == 96
    team_view = admin.get_team(team.team_id)
    assert team_view["credits_reserved"] == 0  # the calls' holds were released


async def test_per_token_charges_at_least_one_credit(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10, budget_mode="per_token", tokens_per_credit=1_000_000)
    assert (await _run_job(gateway, team, calls=1))["credits_charged"] == 1
    assert (await _run_job(gateway, team, calls=0))["credits_charged"] == 1


async def test_per_usd_applies_markup_to_provider_cost(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(
        credits=1000,
        budget_mode="per_usd",
        credits_per_dollar=1_000_000,
        markup_percent=10,
        model_groups=["default", "priced"],
    )
    prompt, completion = _call_tokens()
    result = await _run_job(gateway, team, calls=2, group="priced")
    cost = Decimal(2 * prompt) * Decimal(str(INPUT_PRICE)) + Decimal(2 * completion) * Decimal(
        str(OUTPUT_PRICE)
    )
    expected = int((cost * Decimal("1.10") * 1_000_000).quantize(1, rounding=ROUND_CEILING))
    assert abs(result["costs"]["total_cost_usd"] - float(cost)) < 1e-12
    assert result["credits_charged"] == expected
    assert result["credits_remaining"] == 1000 - expected
    charges = await _charges(gateway, team)
    assert charges[0]["amount"] == -expected
    assert "per_usd" in charges[0]["reason"]


async def test_unpriced_calls_cost_nothing_per_usd(gateway: GatewayProcess, admin: Admin) -> None:
    team = admin.team(credits=10, budget_mode="per_usd")
    result = await _run_job(gateway, team, calls=1)  # the "default" deployment has no price
    assert result["credits_charged"] == 0
    assert result["credits_remaining"] == 10
    assert admin.get_team(team.team_id)["credits_reserved"] == 0


async def test_failed_and_cancelled_jobs_release_their_holds(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=4, credits_per_job=2)
    async with _client(gateway, team) as client:
        jobs = [
            (await client.post("/api/jobs/create", json={"job_type": "x"})).json() for _ in range(2)
        ]
        assert admin.get_team(team.team_id)["credits_available"] == 0
        for job, status in zip(jobs, ("failed", "cancelled"), strict=True):
            done = await client.post(f"/api/jobs/{job['job_id']}/complete", json={"status": status})
            assert done.status_code == 200
            assert done.json()["credits_charged"] == 0
    view = admin.get_team(team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"], view["credits_available"]) == (
        4,
        0,
        4,
    )


async def test_per_token_calls_hold_their_worst_case(gateway: GatewayProcess, admin: Admin) -> None:
    """A call holds a bound of its prompt (its bytes plus the chat template's markers) plus
    its max_tokens worth of credits, so two calls cannot both spend the last credits."""
    prompt_bound = PROMPT_FIXED_TOKENS + PROMPT_TOKENS_PER_MESSAGE + len(PROMPT.encode())
    small_hold = math.ceil((prompt_bound + 2) / 10)
    big_hold = math.ceil((prompt_bound + 25) / 10)
    team = admin.team(credits=1 + small_hold + 1, budget_mode="per_token", tokens_per_credit=10)
    async with _client(gateway, team) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
        # The job holds 1; this call may produce up to 25 tokens: it needs more than is free.
        assert big_hold > small_hold + 1
        big = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES, "max_tokens": 25}
        )
        assert big.status_code == 403
        assert big.json()["error"]["code"] == "insufficient_credits"
        small = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES, "max_tokens": 2}
        )
        assert small.status_code == 200, small.text
        held = admin.get_team(team.team_id)["credits_reserved"]
        assert held == 1 + small_hold
        done = await client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
    prompt = count_prompt_tokens(MESSAGES)
    assert done.json()["credits_charged"] == math.ceil((prompt + 2) / 10)
    assert admin.get_team(team.team_id)["credits_reserved"] == 0


async def test_overdraft_lets_the_balance_go_below_zero_down_to_its_limit(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=0, credits_per_job=2, overdraft_limit=3)
    first = await _run_job(gateway, team, calls=0)
    assert first["credits_remaining"] == -2
    async with _client(gateway, team) as client:
        refused = await client.post(
            "/api/jobs/create", json={"job_type": "x"}
        )  # 1 available, 2 held
    assert refused.status_code == 403
    ledger = await db.ledger(gateway.database_url, team.team_id)
    assert min(row["balance_after"] for row in ledger) == -2
