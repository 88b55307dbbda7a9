"""Structured output: the request format, reading the answer, and the one repair turn.

Small models often wrap JSON in a Markdown fence or miss a field; one repair turn
that shows the model its own answer and the validation errors fixes most of that
for the price of a single extra call. No I/O here; both clients drive it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from saasllm_schema import ChatCompletion

__all__ = [
    "answer_text",
    "check_answer",
    "extract_json_text",
    "repair_messages",
    "response_format_for",
    "validate_answer",
]

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


def response_format_for(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": model.model_json_schema(),
            "strict": True,
        },
    }


def answer_text(completion: ChatCompletion) -> str:
    if completion.choices:
        return completion.choices[0].message.content
    return completion.response.content


def extract_json_text(content: str) -> str:
    """The JSON inside an answer, without a surrounding Markdown code fence."""
    text = content.strip()
    match = _FENCE.match(text)
    return match.group("body").strip() if match else text


def validate_answer(model: type[_ModelT], content: str) -> _ModelT:
    """Raises pydantic's ``ValidationError`` for invalid JSON as well as for a misfit."""
    return model.model_validate_json(extract_json_text(content))


def repair_messages(
    messages: Sequence[Mapping[str, Any] | BaseModel],
    bad_answer: str,
    error: ValidationError,
) -> list[Mapping[str, Any] | BaseModel]:
    problems = "\n".join(
        f"- {'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
    )
    return [
        *messages,
        {"role": "assistant", "content": bad_answer},
        {
            "role": "user",
            "content": (
                "Your answer was not valid for the required JSON schema:\n"
                f"{problems}\n"
                "Reply again with only the corrected JSON object."
            ),
        },
    ]


def check_answer(
    model: type[_ModelT],
    conversation: list[Mapping[str, Any] | BaseModel],
    content: str,
    *,
    attempt: int,
    max_repairs: int,
) -> tuple[_ModelT | None, list[Mapping[str, Any] | BaseModel]]:
    """``(instance, _)`` when valid; ``(None, repaired conversation)`` when a repair is left.

    On the last allowed attempt the pydantic ``ValidationError`` propagates.
    """
    try:
        return validate_answer(model, content), conversation
    except ValidationError as exc:
        if attempt >= max_repairs:
            raise
        return None, repair_messages(conversation, content, exc)
