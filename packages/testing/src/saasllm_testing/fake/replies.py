"""Which answer a request gets: plain text, a JSON document, or a tool call.

A reply is decided before anything is sent, as the list of ``delta`` objects
to stream (already encoded) plus what the non-streaming body needs, so the
streaming and non-streaming paths cannot disagree about the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from saasllm_testing.fake.answers import answer_text, prompt_text, text_plan
from saasllm_testing.fake.scenario import ModelSpec
from saasllm_testing.fake.schema_examples import example_from_schema

BAD_JSON: Final = '{"oops": '
"""The ``-badjson`` answer: invalid JSON, whatever ``response_format`` or ``tools`` ask for."""

JSON_PIECE: Final = 8
"""JSON text streams in pieces this long; ``max_tokens`` would break it, so it is ignored."""


@dataclass(slots=True)
class Reply:
    """One answer: encoded deltas to stream, and the message fields of the whole body."""

    deltas: Sequence[bytes]
    finish_reason: str
    content: str | None
    tool_call: dict[str, Any] | None = None


def plan_reply(body: Mapping[str, Any], spec: ModelSpec, call_id: str) -> Reply:
    """``-badjson`` first, then a tool call, then ``response_format``, then text."""
    if spec.badjson:
        return _json_reply(BAD_JSON)
    tool = _chosen_tool(body)
    if tool is not None:
        return _tool_reply(tool, call_id)
    prompt = prompt_text(body.get("messages"))
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind == "json_schema":
            wrapper = response_format.get("json_schema")
            schema = wrapper.get("schema") if isinstance(wrapper, dict) else None
            return _json_reply(orjson.dumps(example_from_schema(schema or {})).decode())
        if kind == "json_object":
            return _json_reply(orjson.dumps({"answer": answer_text(prompt)}).decode())
    plan = text_plan(prompt, spec.n_tokens)
    limit = _max_tokens(body)
    if limit is not None and limit < len(plan.tokens):
        return Reply(plan.deltas[:limit], "length", "".join(plan.tokens[:limit]))
    return Reply(plan.deltas, "stop", "".join(plan.tokens))


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _chosen_tool(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    functions: list[Mapping[str, Any]] = [
        t["function"] for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if not functions:
        return None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        for function in functions:
            if function.get("name") == wanted:
                return function
    return functions[0]


def _pieces(text: str) -> list[str]:
    return [text[i : i + JSON_PIECE] for i in range(0, len(text), JSON_PIECE)]


def _json_reply(text: str) -> Reply:
    deltas = [b'{"content":' + orjson.dumps(piece) + b"}" for piece in _pieces(text)]
    return Reply(deltas, "stop", text)


def _tool_reply(function: Mapping[str, Any], call_id: str) -> Reply:
    name = str(function.get("name", "tool"))
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = orjson.dumps(example_from_schema(parameters)).decode()
    header = {
        "tool_calls": [
            {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ]
    }
    deltas = [orjson.dumps(header)]
    deltas += [
        b'{"tool_calls":[{"index":0,"function":{"arguments":' + orjson.dumps(piece) + b"}}]}"
        for piece in _pieces(arguments)
    ]
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return Reply(deltas, "tool_calls", None, call)
