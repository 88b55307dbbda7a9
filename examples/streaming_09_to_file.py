import asyncio
from examples.typed_client import SaaSLLMClient

async def stream_to_file(output_file: str):
    """Stream LLM response directly to file"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("content_generation")

        with open(output_file, 'w') as f:
            async for chunk in client.chat_stream(
                job_id=job_id,
                messages=[
                    {
                        "role": "user",
                        "content": "Write a technical blog post about microservices (500 words)"
                    }
                ],
                temperature=0.8
            ):
                if chunk.choices:
                    content = chunk.choices[0].delta.get("content", "")
                    if content:
                        f.write(content)
                        f.flush()  # Write to disk immediately
                        print(content, end="", flush=True)

        print(f"\n\nContent saved to: {output_file}")
        await client.complete_job(job_id, "completed")

if __name__ == "__main__":
    asyncio.run(stream_to_file("blog_post.txt"))
