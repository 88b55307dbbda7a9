"""Each kind of client mistake raises its own exception class, all of them HTTPStatusError."""

import asyncio
import uuid

from httpx import HTTPStatusError

from saasllm import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    SaaSLLMClient,
    UnprocessableEntityError,
)

GATEWAY = "http://localhost:8003"


def report(what: str, error: APIStatusError) -> None:
    print(f"{what}:")
    print(f"  {type(error).__name__}, status {error.status_code}, code {error.error_code!r}")
    print(f"  an httpx.HTTPStatusError: {isinstance(error, HTTPStatusError)}")


async def main() -> None:
    # A key the gateway does not know.
    async with SaaSLLMClient(GATEWAY, "acme-corp", "sk-not-a-real-key") as stranger:
        try:
            await stranger.create_job("anything")
        except AuthenticationError as error:
            report("Wrong virtual key", error)

    async with SaaSLLMClient(GATEWAY, "acme-corp", "sk-your-key") as client:
        # A job id that does not exist (or belongs to another team: the same answer).
        try:
            await client.get_job(str(uuid.uuid4()))
        except NotFoundError as error:
            report("Unknown job", error)

        # A request the gateway cannot accept.
        job_id = await client.create_job("mistakes")
        try:
            await client.chat(job_id, [{"role": "user", "content": "Hi"}], temperature=7.5)
        except UnprocessableEntityError as error:
            report("Temperature out of range", error)

        # Completing a job twice: the second attempt is refused, nothing is charged twice.
        await client.complete_job(job_id, "cancelled")
        try:
            await client.complete_job(job_id, "completed")
        except ConflictError as error:
            report("Job completed twice", error)


if __name__ == "__main__":
    asyncio.run(main())
