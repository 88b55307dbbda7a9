"""An upstream that dies mid-answer: the stream raises instead of ending quietly.

Runs against the docs' faults gateway (port 8004): the "cut-mid-stream" group's
upstream sends five chunks and then drops the connection.
"""

import asyncio

from saasllm import APIConnectionError, SaaSLLMClient, StreamError


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8004",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("fragile_stream")
        received = ""
        try:
            async with client.chat_stream(
                job_id,
                [{"role": "user", "content": "Write a short poem about Python"}],
                model_group="cut-mid-stream",
            ) as stream:
                async for text in stream.text_stream:
                    received += text
        except (StreamError, APIConnectionError) as error:
            print(f"Received before the failure: {received!r}")
            print(f"Raised: {type(error).__name__}")
            print(f"Message: {error}")
            result = await client.complete_job(job_id, "failed")
            print(f"Job closed as {result.status}; credits charged: {result.credits_charged}")


if __name__ == "__main__":
    asyncio.run(main())
