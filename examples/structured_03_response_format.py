"""What structured_output() does for you: a JSON schema in response_format, then validation.

Useful when you build the schema yourself, or stream the JSON as it is written.
"""

import asyncio
import json

from pydantic import BaseModel, Field, ValidationError

from saasllm import SaaSLLMClient


class Sentiment(BaseModel):
    label: str = Field(pattern="^(positive|neutral|negative)$")
    confidence: int = Field(ge=0, le=100)


REVIEW = "The update made the app twice as fast. I love it!"


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("sentiment")
        messages = [
            {"role": "system", "content": "Rate the sentiment of the review."},
            {"role": "user", "content": REVIEW},
        ]
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": "Sentiment",
                "schema": Sentiment.model_json_schema(),
                "strict": True,
            },
        }

        # 1. One call, then validate the text yourself.
        completion = await client.chat(
            job_id, messages, response_format=response_format, temperature=0
        )
        raw = completion.response.content
        print("Raw answer:", raw)
        try:
            print("Validated:", Sentiment.model_validate_json(raw))
        except ValidationError as exc:
            print("Invalid:", exc.errors()[0]["msg"])

        # 2. The same request streamed: JSON text arrives piece by piece.
        pieces = []
        async with client.chat_stream(
            job_id, messages, response_format=response_format, temperature=0
        ) as stream:
            async for text in stream.text_stream:
                pieces.append(text)
        print(f"Streamed in {len(pieces)} pieces:", json.loads("".join(pieces)))

        await client.complete_job(job_id, "completed")


if __name__ == "__main__":
    asyncio.run(main())
