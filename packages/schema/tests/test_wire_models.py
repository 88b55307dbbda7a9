"""The wire models keep the promises client code relies on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saasllm_schema import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    CostSummary,
    ErrorBody,
    JobComplete,
)


def test_delta_content_is_never_none_and_reads_like_a_dict() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
    )
    delta = chunk.choices[0].delta
    assert delta.get("content", "") == ""
    assert delta.content == ""
    assert delta["role"] == "assistant"
    assert "tool_calls" not in delta
    accumulated = ""
    accumulated += delta.get("content", "")
    assert accumulated == ""


def test_usage_chunk_has_no_choices() -> None:
    chunk = ChatCompletionChunk.model_validate_json(
        '{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}'
    )
    assert not chunk.choices
    assert chunk.usage is not None
    assert chunk.usage.model_dump() == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }


def test_completion_message_reads_both_ways_and_keeps_unknown_fields() -> None:
    answer = ChatCompletion.model_validate(
        {"choices": [{"message": {"content": "hi"}}], "system_fingerprint": "x"}
    )
    assert answer.choices[0].message["content"] == "hi"
    assert answer.choices[0].message.get("content", "") == "hi"
    assert answer.model_extra == {"system_fingerprint": "x"}


def test_cost_summary_is_a_mapping_too() -> None:
    costs = CostSummary(total_cost_usd=0.5, credits_remaining=9)
    assert costs.get("total_cost_usd", 0) == 0.5
    assert costs["credits_remaining"] == 9
    assert costs.credits_remaining == 9


@pytest.mark.parametrize("status", ["completed", "COMPLETED", " Failed ", "cancelled"])
def test_job_status_accepts_any_casing(status: str) -> None:
    assert JobComplete.model_validate({"status": status}).status == status.strip().lower()


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "x"}]},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "user", "content": "x"}], "temperature": 3},
        {"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]},
        {"messages": [{"role": "user", "content": "x"}], "model": "a", "model_group": "b"},
    ],
)
def test_chat_request_refuses_what_no_provider_would_take(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChatRequest.model_validate(body)


def test_model_and_model_group_name_the_same_thing() -> None:
    assert (
        ChatRequest.model_validate(
            {"messages": [{"role": "user", "content": "x"}], "model_group": "fast"}
        ).requested_group
        == "fast"
    )
    params = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "purpose": "p"}
    ).upstream_params()
    assert params == {"max_tokens": 5}


def test_error_body_shape() -> None:
    body = ErrorBody.model_validate(
        {"error": {"type": "rate_limit_error", "code": "rate_limited", "message": "slow down"}}
    )
    assert body.error.code == "rate_limited"
