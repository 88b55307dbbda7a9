"""An upstream that answers 429: the SDK retries after Retry-After, then raises RateLimitError.

Runs against the docs' faults gateway (port 8004), whose "rate-limited" model group
always answers 429 with Retry-After: 2.
"""

import asyncio
import time

from saasllm import RateLimitError, SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8004",
        team_id="acme-corp",
        virtual_key="sk-your-key",
        max_retries=1,
    ) as client:
        job_id = await client.create_job("busy_upstream")
        started = time.monotonic()
        try:
            await client.chat(
                job_id, [{"role": "user", "content": "Hello"}], model_group="rate-limited"
            )
        except RateLimitError as error:
            waited = time.monotonic() - started
            print(f"{type(error).__name__}: status {error.status_code}, code {error.error_code!r}")
            print(f"Retry-After: {error.retry_after:g} s")
            print(f"Gave up after one retry; waited at least {int(waited)} s in total")
            await client.complete_job(job_id, "failed")


if __name__ == "__main__":
    asyncio.run(main())
