"""What a hold promises holds: a call cannot outgrow it, a running call is charged, and a
team below its floor can still be settled and topped up (both databases)."""

from __future__ import annotations

import asyncio
import math

import httpx

from saasllm_testing.fake import count_prompt_tokens, tokens_for
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle

PROMPT = "tell me everything about the history of the printing press in Europe"
MESSAGES = [{"role": "user", "content": PROMPT}]
HOLD_MAX_TOKENS = 1024  # the gateway's default for calls without max_tokens


def _client(gateway: GatewayProcess, team: TeamHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gateway.url, headers=team.headers, timeout=60)


async def test_a_call_without_max_tokens_is_capped_at_what_it_holds(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=20, budget_mode="per_token", tokens_per_credit=100)
    async with _client(gateway, team) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
        # The "flood" upstream would send 200,000 tokens if nobody bounded it.
        answer = await client.post(
            f"/api/jobs/{job_id}/llm-call", json={"model": "flood", "messages": MESSAGES}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"]["completion_tokens"] == HOLD_MAX_TOKENS
        done = await client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
    assert done.status_code == 200, done.text
    expected = math.ceil((count_prompt_tokens(MESSAGES) + HOLD_MAX_TOKENS) / 100)
    assert done.json()["credits_charged"] == expected
    assert done.json()["credits_remaining"] == 20 - expected


async def test_completing_waits_for_a_running_stream_and_charges_it(
    gateway: GatewayProcess, admin: Admin
) -> None:
    # Enough for the call's hold: its prompt's bound (bytes and template) plus 8 tokens.
    team = admin.team(credits=500, budget_mode="per_token", tokens_per_credit=1)
    body = {"model": "slow", "messages": MESSAGES, "max_tokens": 8}  # 200 ms per token
    async with _client(gateway, team) as client:
        job_id = (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
        async with client.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
            assert r.status_code == 200
            lines = r.aiter_lines()
            while not (await anext(lines)).startswith("data:"):
                pass
            # The stream runs on; completing now must not settle without it.
            completing = asyncio.create_task(
                client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
            )
            async for _ in lines:
                pass
        done = await completing
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["total_calls"] == 1
    produced = len(tokens_for(PROMPT, 8))
    assert result["costs"]["completion_tokens"] == produced
    assert result["credits_charged"] == count_prompt_tokens(MESSAGES) + produced
    assert admin.get_team(team.team_id)["credits_reserved"] == 0


async def test_a_team_below_its_floor_can_be_settled_and_topped_up(
    gateway: GatewayProcess, admin: Admin
) -> None:
    team = admin.team(credits=0, credits_per_job=5, overdraft_limit=10)
    async with _client(gateway, team) as client:
        first, second = [
            (await client.post("/api/jobs/create", json={"job_type": "x"})).json()["job_id"]
            for _ in range(2)
        ]
        done = await client.post(f"/api/jobs/{first}/complete", json={"status": "completed"})
        assert done.json()["credits_remaining"] == -5
        admin.update_team(team.team_id, overdraft_limit=0)  # now below the floor
        cancelled = await client.post(f"/api/jobs/{second}/complete", json={"status": "cancelled"})
        assert cancelled.status_code == 200, cancelled.text
    topped = admin.http.post(f"/admin/teams/{team.team_id}/credits/topup", json={"amount": 3})
    assert topped.status_code == 200, topped.text
    view = admin.get_team(team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"]) == (-2, 0)
