import asyncio
import time
from examples.typed_client import SaaSLLMClient

async def streaming_with_progress():
    """Stream with visual progress indicators"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("story_generation")

        print("Generating story...\n")
        print("-" * 60)

        start_time = time.time()
        char_count = 0
        chunk_count = 0

        async for chunk in client.chat_stream(
            job_id=job_id,
            messages=[
                {"role": "user", "content": "Write a short sci-fi story (3 paragraphs)"}
            ],
            temperature=1.0
        ):
            if chunk.choices:
                content = chunk.choices[0].delta.get("content", "")
                if content:
                    char_count += len(content)
                    chunk_count += 1
                    print(content, end="", flush=True)

        elapsed = time.time() - start_time

        print("\n" + "-" * 60)
        print(f"\nStatistics:")
        print(f"  Chunks received: {chunk_count}")
        print(f"  Characters: {char_count}")
        print(f"  Time: {elapsed:.2f}s")
        print(f"  Speed: {char_count/elapsed:.1f} chars/sec")

        await client.complete_job(job_id, "completed")

if __name__ == "__main__":
    asyncio.run(streaming_with_progress())
