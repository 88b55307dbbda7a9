"""Onboard a customer: a team billed per token, its key, credits, a job, and what it cost.

Needs the gateway's admin key in SAASLLM_ADMIN_KEY (`saasllm-server demo` prints it).
"""

import asyncio
import os
import secrets

from saasllm import SaaSLLMClient, SyncSaaSLLMAdmin


def main() -> None:
    team_id = f"beta-{secrets.token_hex(3)}"
    with SyncSaaSLLMAdmin("http://localhost:8003", os.environ["SAASLLM_ADMIN_KEY"]) as admin:
        team = admin.create_team(
            team_id,
            "acme",
            credits=20,
            budget_mode="per_token",
            tokens_per_credit=100,
            default_model_group="default",
            low_balance_threshold=10,
        )
        print(f"team {team.id}: {team.credits_remaining} credits, {team.budget_mode}")
        key = admin.create_key(team_id, name="backend")
        print(f"key {key.key_id} ({key.prefix}...), secret shown once")

        # The same Idempotency-Key twice, as a retry after a lost answer would send it.
        first = admin.top_up(team_id, 30, reason="welcome pack", idempotency_key=f"{team_id}-1")
        retry = admin.top_up(team_id, 30, reason="welcome pack", idempotency_key=f"{team_id}-1")
        print(f"top-up entry {first.id}, retried: entry {retry.id}, balance {retry.balance_after}")

    run_a_job(team_id, key.key)

    with SyncSaaSLLMAdmin("http://localhost:8003", os.environ["SAASLLM_ADMIN_KEY"]) as admin:
        print("ledger, newest first:")
        for entry in admin.iter_ledger(team_id):
            print(
                f"  {entry.kind:<10} {entry.amount:>4}  -> {entry.balance_after:>3}  {entry.reason}"
            )
        usage = admin.usage(team_id=team_id, group_by="job_type").totals
        print(
            f"usage: {usage.jobs} job, {usage.calls} call, "
            f"{usage.prompt_tokens + usage.completion_tokens} tokens, "
            f"{usage.credits_charged} credits"
        )
        print(f"low balance: {admin.get_team(team_id).low_balance}")


def run_a_job(team_id: str, key: str) -> None:
    async def job() -> None:
        async with SaaSLLMClient(
            base_url="http://localhost:8003", team_id=team_id, virtual_key=key
        ) as client:
            job_id = await client.create_job("welcome_email")
            await client.chat(
                job_id,
                messages=[{"role": "user", "content": "Write a two-line welcome email."}],
                max_tokens=80,
            )
            result = await client.complete_job(job_id, "completed")
            print(
                f"job used {result.costs.total_tokens} tokens: "
                f"{result.credits_charged} credits charged, {result.credits_remaining} left"
            )

    asyncio.run(job())


if __name__ == "__main__":
    main()
