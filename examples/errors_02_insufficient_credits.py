"""A team without credits cannot open a job: 403 with the code insufficient_credits."""

import asyncio

from httpx import HTTPStatusError

from saasllm import InsufficientCreditsError, SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        try:
            await client.create_job("one_more_report")
        except InsufficientCreditsError as error:
            print(f"{type(error).__name__}: {error.message}")
            print(f"status {error.status_code}, code {error.error_code!r}")

        # Code written for a bare httpx client catches the same exception.
        try:
            await client.create_job("one_more_report")
        except HTTPStatusError as error:
            print(f"HTTPStatusError handler sees status {error.response.status_code}")


if __name__ == "__main__":
    asyncio.run(main())
