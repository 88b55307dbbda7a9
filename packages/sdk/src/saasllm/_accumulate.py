"""Folding stream chunks into the answer they spell out, without any I/O.

Kept apart from the stream classes so the sync and async streams (and the tests)
share one definition of "the final message": text concatenated per choice, tool
call fragments merged by their ``index``, the last ``finish_reason``, the usage
chunk's token counts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from saasllm_schema import (
    CallResponse,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ResponseMessage,
    Usage,
)

__all__ = ["ChatAccumulator"]


@dataclass
class _ChoiceState:
    role: str = "assistant"
    parts: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None

    def message(self) -> ResponseMessage:
        calls = [self.tool_calls[i] for i in sorted(self.tool_calls)] or None
        return ResponseMessage(role=self.role, content="".join(self.parts), tool_calls=calls)


class ChatAccumulator:
    """Feed every chunk to :meth:`add`; read the answer so far at any point."""

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self.id = ""
        self.model = ""
        self.created = 0
        self.usage: Usage | None = None
        self.chunks = 0

    def add(self, chunk: ChatCompletionChunk) -> None:
        self.chunks += 1
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        self.created = self.created or chunk.created
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            state = self._choices.setdefault(choice.index, _ChoiceState())
            delta = choice.delta
            if delta.role:
                state.role = delta.role
            if delta.content:
                state.parts.append(delta.content)
            for call in delta.tool_calls or ():
                _merge_tool_call(state.tool_calls, call)
            if choice.finish_reason is not None:
                state.finish_reason = choice.finish_reason

    @property
    def text(self) -> str:
        """The first choice's text so far."""
        state = self._choices.get(0)
        return "".join(state.parts) if state else ""

    @property
    def finish_reason(self) -> str | None:
        state = self._choices.get(0)
        return state.finish_reason if state else None

    def message(self, index: int = 0) -> ResponseMessage:
        state = self._choices.get(index)
        return state.message() if state else ResponseMessage()

    def completion(self) -> ChatCompletion:
        """The non-streaming shape of what was streamed, both OpenAI and job-API parts."""
        choices = [
            Choice(index=i, message=s.message(), finish_reason=s.finish_reason)
            for i, s in sorted(self._choices.items())
        ]
        first = choices[0] if choices else Choice()
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            response=CallResponse(
                content=first.message.content,
                finish_reason=first.finish_reason,
                tool_calls=first.message.tool_calls,
            ),
        )


def _merge_tool_call(calls: dict[int, dict[str, Any]], fragment: dict[str, Any]) -> None:
    """Merge one streamed tool-call fragment into the call with the same ``index``.

    The id, type and function name arrive once (some providers repeat them, so
    they are set, not appended); ``function.arguments`` arrives in pieces.
    """
    index = fragment.get("index")
    if not isinstance(index, int):
        index = len(calls)
    current = calls.get(index)
    if current is None:
        current = {"index": index, "id": "", "type": "function"}
        current["function"] = {"name": "", "arguments": ""}
        calls[index] = current
    for key, value in fragment.items():
        if key == "function" and isinstance(value, dict):
            function: dict[str, Any] = current["function"]
            for fkey, fvalue in value.items():
                if fvalue is None:
                    continue
                if fkey == "arguments" and isinstance(fvalue, str):
                    function["arguments"] = function.get("arguments", "") + fvalue
                elif fkey == "name" and isinstance(fvalue, str):
                    function["name"] = function.get("name") or fvalue
                else:
                    function[fkey] = copy.deepcopy(fvalue)
        elif key == "id":
            if value and not current["id"]:
                current["id"] = value
        elif key == "type":
            if value:
                current["type"] = value
        elif key != "index" and value is not None:
            current[key] = copy.deepcopy(value)
