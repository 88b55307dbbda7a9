"""A job with two calls: its status while open, and its cost summary once completed."""

import asyncio

from saasllm import SaaSLLMClient

ARTICLE = (
    "Our support team answered 1,200 tickets in March, 30% more than in February. "
    "Most questions were about invoices and password resets."
)


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("report_digest", metadata={"report": "2026-03"})

        summary = await client.chat(
            job_id,
            messages=[{"role": "user", "content": f"Summarise in one sentence: {ARTICLE}"}],
            max_tokens=60,
            temperature=0.2,
        )
        title = await client.chat(
            job_id,
            messages=[{"role": "user", "content": f"Write a title of five words for: {ARTICLE}"}],
            max_tokens=20,
            temperature=0.2,
        )
        print("Summary:", summary.response.content.strip())
        print("Title:  ", title.response.content.strip())

        job = await client.get_job(job_id)
        print(f"\nWhile open: status={job.status}, calls={job.total_calls}")

        result = await client.complete_job(job_id, "completed")
        costs = result.costs
        print(f"Completed: status={result.status}, credits charged={result.credits_charged}")
        print(
            f"Calls: {costs.successful_calls} ok / {costs.failed_calls} failed, "
            f"tokens: {costs.prompt_tokens} in + {costs.completion_tokens} out"
        )
        for call in result.calls:
            print(
                f"  {call.model_group:>8} {call.model:<22} {call.status:<8} "
                f"{call.completion_tokens:>3} tokens"
            )
        print(f"Credits remaining: {result.credits_remaining}")


if __name__ == "__main__":
    asyncio.run(main())
