import asyncio
from examples.typed_client import SaaSLLMClient

async def analyze_documents_streaming(documents: list[str]):
    """Analyze multiple documents with streaming"""

    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key"
    ) as client:

        job_id = await client.create_job("batch_analysis")

        for i, document in enumerate(documents, 1):
            print(f"\n{'='*60}")
            print(f"Document {i}/{len(documents)}")
            print(f"{'='*60}")
            print("Analysis: ", end="", flush=True)

            async for chunk in client.chat_stream(
                job_id=job_id,
                messages=[
                    {
                        "role": "system",
                        "content": "Provide concise analysis of documents"
                    },
                    {
                        "role": "user",
                        "content": f"Analyze this text:\n\n{document}"
                    }
                ],
                temperature=0.5,
                max_tokens=200
            ):
                if chunk.choices:
                    content = chunk.choices[0].delta.get("content", "")
                    if content:
                        print(content, end="", flush=True)

        print(f"\n\n{'='*60}")
        result = await client.complete_job(job_id, "completed")
        print(f"Analysis complete! Analyzed {len(documents)} documents")
        print(f"Credits remaining: {result.credits_remaining}")

if __name__ == "__main__":
    documents = [
        "AI is transforming healthcare with predictive diagnostics...",
        "Renewable energy sources are becoming more cost-effective...",
        "Remote work has changed how companies operate globally..."
    ]

    asyncio.run(analyze_documents_streaming(documents))
