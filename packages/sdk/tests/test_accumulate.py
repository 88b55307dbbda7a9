"""The pure accumulator: chunks in, the final answer out."""

from __future__ import annotations

from typing import Any

from packages.sdk.tests.sdk_testkit import chunk, usage_chunk
from saasllm import ChatAccumulator, ChatCompletionChunk


def feed(*raw: dict[str, Any]) -> ChatAccumulator:
    acc = ChatAccumulator()
    for item in raw:
        acc.add(ChatCompletionChunk.model_validate(item))
    return acc


def test_content_concatenated_and_finish_reason() -> None:
    acc = feed(
        chunk("", role="assistant"),
        chunk("Hel"),
        chunk("lo"),
        {"choices": [{"index": 0, "delta": {"content": None}, "finish_reason": "stop"}]},
    )
    assert acc.text == "Hello"
    assert acc.finish_reason == "stop"
    message = acc.message()
    assert message.role == "assistant"
    assert message["content"] == "Hello"
    assert message.tool_calls is None


def test_usage_from_the_usage_chunk() -> None:
    acc = feed(chunk("a"), chunk(finish="stop"), usage_chunk(3, 5))
    assert acc.usage is not None
    assert acc.usage.model_dump() == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def test_tool_call_deltas_merged_by_index() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}}]}

    acc = feed(
        call(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""}),
        call(1, id="call_b", type="function", function={"name": "get_time", "arguments": '{"tz'}),
        call(0, function={"arguments": '{"city": '}),
        call(0, function={"arguments": '"Paris"}'}),
        call(1, function={"arguments": '": "UTC"}'}),
        # Some providers repeat the id/name on later fragments: not doubled.
        call(0, id="call_a", function={"name": "get_weather", "arguments": ""}),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    )
    message = acc.message()
    assert message.content == ""
    assert message.tool_calls == [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "index": 1,
            "id": "call_b",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
        },
    ]
    assert acc.finish_reason == "tool_calls"


def test_several_choices_kept_apart() -> None:
    acc = feed(chunk("a", index=0), chunk("x", index=1), chunk("b", index=0), chunk("y", index=1))
    assert acc.text == "ab"
    assert acc.message(1).content == "xy"
    completion = acc.completion()
    assert [c.message.content for c in completion.choices] == ["ab", "xy"]


def test_completion_has_both_shapes() -> None:
    acc = feed(chunk("Hi"), chunk(finish="stop"), usage_chunk())
    completion = acc.completion()
    assert completion.id == "chatcmpl-1"
    assert completion.model == "fake-model"
    assert completion.choices[0].message["content"] == "Hi"
    assert completion.response.content == "Hi"
    assert completion.response.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 8


def test_empty_accumulator() -> None:
    acc = ChatAccumulator()
    assert acc.text == ""
    assert acc.finish_reason is None
    assert acc.usage is None
    assert acc.message().content == ""
    assert acc.completion().choices == []
