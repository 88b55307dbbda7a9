"""Request bodies are the schema's models, serialised once; the gateway judges the rest."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from saasllm import APIResponseValidationError, ChatOptions, Message
from saasllm._requests import chat_body, encode, parse_response
from saasllm_schema import ChatRequest, Organization

MESSAGES = [{"role": "user", "content": "hi"}]


def wire(body: BaseModel | dict[str, Any]) -> Any:
    return json.loads(encode(body))


def test_chat_options_are_the_chat_request_fields() -> None:
    # The SDK sets the messages and the stream fields itself; the gateway reads no call_metadata.
    set_by_the_sdk = {"messages", "stream", "stream_options", "call_metadata"}
    options = set(ChatOptions.__optional_keys__) - {"extra_body"}
    assert options == set(ChatRequest.model_fields) - set_by_the_sdk


def test_unset_options_are_left_out_and_unknown_extras_kept() -> None:
    options: ChatOptions = {
        "model": "default",
        "temperature": None,
        "extra_body": {"logprobs": True, "seed": 3},
    }
    assert wire(chat_body(MESSAGES, options, stream=True)) == {
        "messages": MESSAGES,
        "model": "default",
        "stream_options": {"include_usage": True},
        "logprobs": True,
        "seed": 3,
    }


def test_messages_may_be_models() -> None:
    class Mine(BaseModel):
        role: str
        content: str
        name: str | None = None

    body = chat_body([Message(role="user", content="a"), Mine(role="assistant", content="b")], {})
    assert wire(body)["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]


def test_a_misspelt_option_is_refused_and_a_bad_value_left_to_the_gateway() -> None:
    with pytest.raises(TypeError, match="temprature"):
        chat_body(MESSAGES, {"temprature": 1})  # type: ignore[typeddict-unknown-key]
    # The gateway answers these with its typed 422, which users' code catches.
    for messages, options in ((MESSAGES, {"temperature": 5}), ([], {}), ([{"role": "user"}], {})):
        body = chat_body(messages, options)  # type: ignore[arg-type]
        assert isinstance(body, dict)
        assert json.loads(encode(body))["messages"] == messages
    with pytest.raises(TypeError):
        chat_body([42], {})  # type: ignore[list-item]


def test_a_misfit_answer_names_the_shape_expected() -> None:
    response = httpx.Response(
        200, json={"not": "a list"}, request=httpx.Request("GET", "http://gw/admin/organizations")
    )
    with pytest.raises(APIResponseValidationError, match=r"list\[.*Organization\]") as caught:
        parse_response(list[Organization], response)
    assert caught.value.response is response
