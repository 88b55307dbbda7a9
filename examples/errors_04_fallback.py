"""A model group whose first member fails: the gateway falls back before the first byte.

Runs against the docs' faults gateway (port 8004): the "flaky-primary" group is
["broken", "healthy"], and "broken" always answers 500.
"""

import asyncio

from saasllm import SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8004",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("fallback_demo")

        print("Answer: ", end="")
        async with client.chat_stream(
            job_id,
            [{"role": "user", "content": "Write a short poem about Python"}],
            model_group="flaky-primary",
        ) as stream:
            async for text in stream.text_stream:
                print(text, end="", flush=True)
        print()

        result = await client.complete_job(job_id, "completed")
        for call in result.calls:
            print(f"Call {call.status} on group {call.model_group!r}, served by {call.model!r}")
        print(f"Credits charged: {result.credits_charged}")


if __name__ == "__main__":
    asyncio.run(main())
