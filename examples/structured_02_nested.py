"""Extract nested data (a list of models inside a model) from free text."""

import asyncio

from pydantic import BaseModel, Field

from saasllm import SaaSLLMClient


class LineItem(BaseModel):
    description: str
    quantity: int = Field(ge=1)
    unit_price_eur: float


class Invoice(BaseModel):
    vendor: str
    items: list[LineItem]


TEXT = (
    "Invoice from Northwind Supplies: 3 boxes of printer paper at 24.50 EUR each, "
    "and 2 ink cartridges at 39.90 EUR each."
)


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("invoice_extraction")

        invoice = await client.structured_output(
            job_id,
            messages=[
                {"role": "system", "content": "Extract the invoice as JSON."},
                {"role": "user", "content": TEXT},
            ],
            response_model=Invoice,
            temperature=0,
        )

        print(f"Vendor: {invoice.vendor}")
        for item in invoice.items:
            print(f"  {item.quantity} x {item.description} at {item.unit_price_eur:.2f} EUR")
        total = sum(item.quantity * item.unit_price_eur for item in invoice.items)
        print(f"Total: {total:.2f} EUR")

        await client.complete_job(job_id, "completed")


if __name__ == "__main__":
    asyncio.run(main())
