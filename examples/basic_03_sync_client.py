"""The synchronous client, for scripts and code that is not async: stream with helpers."""

from saasllm import SyncSaaSLLMClient


def main() -> None:
    with SyncSaaSLLMClient(
        base_url="http://localhost:8003",
        team_id="acme-corp",
        virtual_key="sk-your-key",
    ) as client:
        job_id = client.create_job("sync_demo")

        with client.chat_stream(
            job_id,
            messages=[{"role": "user", "content": "Name three primary colours."}],
            max_tokens=60,
        ) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
            print()
            final = stream.get_final_completion()

        print(f"\nFinish reason: {final.choices[0].finish_reason}")
        if stream.usage is not None:
            print(f"Usage: {stream.usage.prompt_tokens} in, {stream.usage.completion_tokens} out")

        result = client.complete_job(job_id, "completed")
        print(f"Credits remaining: {result.credits_remaining}")


if __name__ == "__main__":
    main()
