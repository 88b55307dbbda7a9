"""Several OpenAI-style calls inside one job: X-Job-Id joins them, one credit pays for all."""

import asyncio

from openai import AsyncOpenAI

from saasllm import SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as saas:
        job_id = await saas.create_job("agent_run")

        openai = AsyncOpenAI(
            base_url="http://localhost:8003/v1",
            api_key="sk-your-key",
            default_headers={"X-Job-Id": job_id},
        )
        for question in ["Name a colour.", "Name a fruit.", "Name a planet."]:
            answer = await openai.chat.completions.create(
                model="default",
                messages=[{"role": "user", "content": question}],
                max_tokens=15,
            )
            print(f"{question} -> {answer.choices[0].message.content!r}")
        await openai.close()

        result = await saas.complete_job(job_id, "completed")
        print(f"Calls in the job: {result.total_calls}, credits charged: {result.credits_charged}")


if __name__ == "__main__":
    asyncio.run(main())
