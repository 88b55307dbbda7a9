"""One LLM call answered in one response, inside a job that costs one credit."""

import asyncio

from saasllm import SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("faq_answer")

        completion = await client.chat(
            job_id,
            messages=[
                {"role": "user", "content": "What is an API gateway? Answer in one sentence."}
            ],
            max_tokens=80,
        )

        print("Answer:", completion.response.content.strip())
        print("Finish reason:", completion.response.finish_reason)
        meta = completion.metadata
        print(f"Model group: {meta.model_group} (model: {meta.model})")
        print(f"Tokens: {meta.prompt_tokens} in, {meta.completion_tokens} out")

        result = await client.complete_job(job_id, "completed")
        print(f"Credits charged: {result.credits_charged}, remaining: {result.credits_remaining}")


if __name__ == "__main__":
    asyncio.run(main())
