import asyncio
from examples.typed_client import SaaSLLMClient

async def stream_question(client, job_id, question):
    """Stream answer to one question"""
    print(f"\nQuestion: {question}")
    print("Answer: ", end="", flush=True)

    async for chunk in client.chat_stream(
        job_id=job_id,
        messages=[{"role": "user", "content": question}],
        temperature=0.7
    ):
        if chunk.choices:
            content = chunk.choices[0].delta.get("content", "")
            if content:
                print(content, end="", flush=True)

    print()  # New line

async def concurrent_streaming():
    """Stream answers to multiple questions concurrently"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("faq_batch")

        questions = [
            "What is machine learning?",
            "What is deep learning?",
            "What is neural network?"
        ]

        # Stream all questions concurrently
        tasks = [stream_question(client, job_id, q) for q in questions]
        await asyncio.gather(*tasks)

        result = await client.complete_job(job_id, "completed")
        print(f"\nAll questions answered! Credits: {result.credits_remaining}")

if __name__ == "__main__":
    asyncio.run(concurrent_streaming())
