import asyncio
from examples.typed_client import SaaSLLMClient

async def basic_streaming():
    """Stream a response and print it in real-time"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        # Create job
        job_id = await client.create_job("streaming_demo")

        # Stream response
        print("Assistant: ", end="", flush=True)

        async for chunk in client.chat_stream(
            job_id=job_id,
            messages=[
                {"role": "user", "content": "Write a short poem about Python"}
            ]
        ):
            if chunk.choices:
                content = chunk.choices[0].delta.get("content", "")
                if content:
                    print(content, end="", flush=True)

        print()  # New line after stream completes

        # Complete job
        result = await client.complete_job(job_id, "completed")
        print(f"\nCredits remaining: {result.credits_remaining}")

if __name__ == "__main__":
    asyncio.run(basic_streaming())
