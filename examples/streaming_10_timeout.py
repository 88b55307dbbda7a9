import asyncio
from examples.typed_client import SaaSLLMClient

async def streaming_with_timeout(timeout_seconds=30):
    """Stream with timeout protection"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("timeout_demo")

        try:
            # Set timeout for the entire stream
            async with asyncio.timeout(timeout_seconds):
                async for chunk in client.chat_stream(
                    job_id=job_id,
                    messages=[
                        {"role": "user", "content": "Explain blockchain technology"}
                    ]
                ):
                    if chunk.choices:
                        content = chunk.choices[0].delta.get("content", "")
                        if content:
                            print(content, end="", flush=True)

            print(f"\n\nStream completed within {timeout_seconds}s")
            await client.complete_job(job_id, "completed")

        except asyncio.TimeoutError:
            print(f"\n\nStream exceeded {timeout_seconds}s timeout")
            await client.complete_job(job_id, "failed")

if __name__ == "__main__":
    asyncio.run(streaming_with_timeout(30))
