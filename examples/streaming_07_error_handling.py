import asyncio
from examples.typed_client import SaaSLLMClient
from httpx import HTTPStatusError

async def robust_streaming():
    """Stream with comprehensive error handling"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("resilient_chat")

        try:
            accumulated = ""
            chunk_count = 0

            async for chunk in client.chat_stream(
                job_id=job_id,
                messages=[
                    {"role": "user", "content": "Explain Docker containers"}
                ],
                temperature=0.7
            ):
                if chunk.choices:
                    content = chunk.choices[0].delta.get("content", "")
                    if content:
                        accumulated += content
                        chunk_count += 1
                        print(content, end="", flush=True)

            print(f"\n\nStream completed successfully ({chunk_count} chunks)")
            await client.complete_job(job_id, "completed")

        except HTTPStatusError as e:
            print(f"\n\nHTTP Error: {e.response.status_code}")
            if e.response.status_code == 403:
                print("Insufficient credits or access denied")
            elif e.response.status_code == 429:
                print("Rate limited - please wait and retry")
            await client.complete_job(job_id, "failed")

        except asyncio.TimeoutError:
            print("\n\nStream timed out")
            await client.complete_job(job_id, "failed")

        except Exception as e:
            print(f"\n\nUnexpected error: {e}")
            await client.complete_job(job_id, "failed")

if __name__ == "__main__":
    asyncio.run(robust_streaming())
