import asyncio
from examples.typed_client import SaaSLLMClient

async def streaming_with_system_prompt():
    """Stream with custom system prompt"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("tutoring")

        async for chunk in client.chat_stream(
            job_id=job_id,
            messages=[
                {
                    "role": "system",
                    "content": "You are a patient Python tutor. "
                               "Explain concepts simply with code examples."
                },
                {
                    "role": "user",
                    "content": "How do I read a CSV file in Python?"
                }
            ],
            temperature=0.7
        ):
            if chunk.choices:
                content = chunk.choices[0].delta.get("content", "")
                if content:
                    print(content, end="", flush=True)

        print()
        await client.complete_job(job_id, "completed")

if __name__ == "__main__":
    asyncio.run(streaming_with_system_prompt())
