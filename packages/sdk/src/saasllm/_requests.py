"""Request bodies built from the schema's models, and reading success bodies into them.

``saasllm_schema`` is the one definition of the wire format: every body the SDK
sends is built as one of its models and serialised once, and every success body
is parsed into one. A job-API body the model refuses is still sent as given: the
gateway is the judge of a request, and its typed 422 (``UnprocessableEntityError``,
an ``httpx.HTTPStatusError``) is what users' code catches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, TypeVar, get_args

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import to_json

from saasllm._errors import APIResponseValidationError
from saasllm._version import __version__
from saasllm_schema import ChatMessage, ChatRequest

__all__ = [
    "USER_AGENT",
    "ChatOptions",
    "Messages",
    "chat_body",
    "encode",
    "given",
    "judged_by_gateway",
    "parse_response",
    "stream_headers",
]

USER_AGENT = f"saasllm-python/{__version__}"

RESUME_GRACE_S = 10
"""Seconds the gateway keeps an answer coming after the connection drops, to be resumed."""

_T = TypeVar("_T")

Messages = Sequence[Mapping[str, Any] | BaseModel]


class ChatOptions(TypedDict, total=False):
    """The optional fields of an LLM call, as keywords of ``chat()`` and ``chat_stream()``.

    ``None`` (or leaving a field out) means "leave it to the gateway": the field is
    not sent. The names and limits are ``saasllm_schema.ChatRequest``'s.
    """

    model: str | None
    """The model group; no ``model``/``model_group`` means the team's default group."""
    model_group: str | None
    """Another name for ``model`` (the original client used both)."""
    temperature: float | None
    max_tokens: int | None
    max_completion_tokens: int | None
    top_p: float | None
    stop: str | list[str] | None
    response_format: dict[str, Any] | None
    tools: list[dict[str, Any]] | None
    tool_choice: str | dict[str, Any] | None
    parallel_tool_calls: bool | None
    frequency_penalty: float | None
    presence_penalty: float | None
    seed: int | None
    user: str | None
    purpose: str | None
    """A label for the call in the job's records."""
    metadata: dict[str, Any] | None
    extra_body: dict[str, Any] | None
    """Fields merged into the body last, including ones this SDK does not know."""


class _ChatBody(ChatRequest):
    # ``extra_body`` may carry fields a newer gateway knows and ChatRequest does not.
    model_config = ConfigDict(extra="allow")


def given(**fields: Any) -> dict[str, Any]:
    """The fields the caller set: for the job API, ``None`` means "not given"."""
    return {name: value for name, value in fields.items() if value is not None}


def _message(message: Mapping[str, Any] | BaseModel) -> Mapping[str, Any] | BaseModel:
    if isinstance(message, ChatMessage):
        return message
    if isinstance(message, BaseModel):
        return message.model_dump(mode="json", exclude_none=True)
    if isinstance(message, Mapping):
        return message
    raise TypeError(f"a message must be a dict or a pydantic model, not {type(message).__name__}")


_M = TypeVar("_M", bound=BaseModel)


def judged_by_gateway(model: type[_M], fields: dict[str, Any]) -> _M | dict[str, Any]:
    """The body as ``model``, or, when the model refuses it, the fields as given."""
    try:
        return model.model_validate(fields)
    except ValidationError:
        return fields


def chat_body(
    messages: Messages | None, options: ChatOptions, *, stream: bool = False
) -> BaseModel | dict[str, Any]:
    """The body of an LLM call, as a ``ChatRequest`` when it is one."""
    if messages is None:
        raise ValueError("messages is required")
    if isinstance(messages, str | bytes):
        raise TypeError("messages must be a list of messages, not a string")
    unknown = options.keys() - ChatOptions.__optional_keys__
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    fields = given(**{k: v for k, v in options.items() if k != "extra_body"})
    fields["messages"] = [_message(m) for m in messages]
    if stream:
        # Ask for the final usage chunk so stream.usage is filled.
        fields["stream_options"] = {"include_usage": True}
    fields.update(options.get("extra_body") or {})
    return judged_by_gateway(_ChatBody, fields)


def encode(body: BaseModel | Mapping[str, Any]) -> bytes:
    """Only the fields that were set: an update must not reset the others to defaults."""
    if isinstance(body, BaseModel):
        return body.model_dump_json(exclude_unset=True).encode()
    return to_json(body)


def stream_headers(last_event_id: str | None) -> dict[str, str]:
    headers = {
        "Accept": "text/event-stream",
        "Cache-Control": "no-cache",
        # Keep the answer coming for a while if the connection drops, so it can be resumed.
        "X-Resume-Grace": str(RESUME_GRACE_S),
    }
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return headers


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(cast_to: Any) -> TypeAdapter[Any]:
    """Building an adapter costs far more than using one, so each type gets one for good."""
    adapter = _ADAPTERS.get(cast_to)
    if adapter is None:
        adapter = _ADAPTERS[cast_to] = TypeAdapter(cast_to)
    return adapter


def parse_response(cast_to: type[_T], response: httpx.Response) -> _T:
    """Validate a success body leniently; a misfit is the server's fault, so say so."""
    try:
        parsed: _T = _adapter(cast_to).validate_json(response.content)
    except ValueError as exc:  # bad JSON, or pydantic's ValidationError
        name = repr(cast_to) if get_args(cast_to) else cast_to.__name__
        raise APIResponseValidationError(
            f"Unexpected {name} body from {response.request.url}: {exc}", response=response
        ) from exc
    return parsed
