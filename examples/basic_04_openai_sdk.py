"""The official openai package against the gateway: a virtual key and a model group name."""

from openai import OpenAI

client = OpenAI(base_url="http://localhost:8003/v1", api_key="sk-your-key")


def main() -> None:
    print("Model groups this key may use:", [model.id for model in client.models.list()])

    # Without an X-Job-Id header, each request is a job of its own, completed
    # (and charged) by the gateway when the answer is complete.
    completion = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Say hello to the readers of our docs."}],
        max_tokens=40,
    )
    print("Answer:", completion.choices[0].message.content)
    if completion.usage is not None:
        print(
            f"Usage: {completion.usage.prompt_tokens} in, {completion.usage.completion_tokens} out"
        )

    # Streaming works the same way as with OpenAI itself.
    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Count from one to five."}],
        max_tokens=40,
        stream=True,
    )
    print("Streamed: ", end="")
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
