import asyncio
from examples.typed_client import SaaSLLMClient

async def accumulating_stream():
    """Stream response while accumulating full text"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("chat")

        # Accumulate full response
        full_response = ""

        async for chunk in client.chat_stream(
            job_id=job_id,
            messages=[
                {"role": "user", "content": "Explain quantum computing in 2 sentences"}
            ],
            temperature=0.7
        ):
            if chunk.choices:
                content = chunk.choices[0].delta.get("content", "")
                if content:
                    full_response += content
                    print(content, end="", flush=True)

        print(f"\n\nFull response length: {len(full_response)} characters")

        # You can now use full_response for further processing
        await client.complete_job(job_id, "completed")

if __name__ == "__main__":
    asyncio.run(accumulating_stream())
