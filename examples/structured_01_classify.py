"""Classify a support ticket into a validated pydantic model."""

import asyncio
from typing import Literal

from pydantic import BaseModel, Field

from saasllm import SaaSLLMClient


class Ticket(BaseModel):
    category: Literal["billing", "bug", "feature_request", "other"]
    priority: int = Field(ge=1, le=5, description="1 = can wait, 5 = urgent")
    summary: str = Field(max_length=120)


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("ticket_triage")

        ticket = await client.structured_output(
            job_id,
            messages=[
                {"role": "system", "content": "Classify the customer's support ticket."},
                {
                    "role": "user",
                    "content": "I was charged twice for my subscription this month. "
                    "Please refund one of the payments.",
                },
            ],
            response_model=Ticket,
            temperature=0,
        )

        print(type(ticket).__name__, "=", ticket.model_dump_json(indent=2))
        print("category is one of the four values:", ticket.category)
        print("priority is within 1..5:", ticket.priority)

        await client.complete_job(job_id, "completed")


if __name__ == "__main__":
    asyncio.run(main())
