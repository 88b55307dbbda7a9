"""An upstream that stops talking: a deadline on the whole stream gets the caller out.

Runs against the docs' faults gateway (port 8004): the "stalls" group's upstream
sends one chunk, then nothing. The gateway's ": ping" heartbeats would keep a
read timeout happy; asyncio.timeout() bounds the total time.
"""

import asyncio
import time

from saasllm import SaaSLLMClient


async def main() -> None:
    async with SaaSLLMClient(
        base_url="http://localhost:8004",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = await client.create_job("deadline_demo")
        started = time.monotonic()
        try:
            async with asyncio.timeout(3):
                async for chunk in client.chat_stream(
                    job_id,
                    [{"role": "user", "content": "Write a short poem about Python"}],
                    model_group="stalls",
                ):
                    if chunk.choices:
                        print(chunk.choices[0].delta.get("content", ""), end="", flush=True)
        except TimeoutError:
            print(f"\nNo progress: gave up after {time.monotonic() - started:.0f} s")
            await client.complete_job(job_id, "failed")


if __name__ == "__main__":
    asyncio.run(main())
