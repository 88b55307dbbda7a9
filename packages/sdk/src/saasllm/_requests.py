"""The shapes of the job API's requests, and reading its success responses.

Both clients build every URL, header set and body here, so a wire change is made
once and the two clients cannot disagree about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from saasllm._errors import APIResponseValidationError
from saasllm._version import __version__

__all__ = [
    "ChatOptions",
    "attempt_headers",
    "base_headers",
    "chat_body",
    "complete_job_body",
    "create_job_body",
    "job_url",
    "parse_response",
    "require_job_id",
]

USER_AGENT = f"saasllm-python/{__version__}"

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class ChatOptions(TypedDict, total=False):
    """The optional fields of an LLM call; ``None`` means "leave it to the server"."""

    model: str | None
    model_group: str | None
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
    metadata: dict[str, Any] | None
    extra_body: dict[str, Any] | None


def base_headers(virtual_key: str, team_id: str | None) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {virtual_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    if team_id:
        # Informational: the gateway derives the team from the key.
        headers["X-Team-Id"] = team_id
    return headers


RESUME_GRACE_S = 10


def attempt_headers(
    *, retries_taken: int, idempotency_key: str | None, stream: bool
) -> dict[str, str]:
    """Per-attempt headers: the gateway sees retries, and can de-duplicate them by key."""
    headers = {"x-saasllm-retry-count": str(retries_taken)}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if stream:
        headers["Accept"] = "text/event-stream"
        headers["Cache-Control"] = "no-cache"
        # Keep the answer coming for a while if the connection drops, so it can be resumed.
        headers["X-Resume-Grace"] = str(RESUME_GRACE_S)
    return headers


def job_url(base_url: str, job_id: str, action: str = "") -> str:
    path = f"{base_url}/api/jobs/{quote(str(job_id), safe='')}"
    return f"{path}/{action}" if action else path


def require_job_id(job_id: str | None, current: str | None) -> str:
    """The explicit id, else the job this client created last."""
    if job_id is not None:
        return str(job_id)
    if current is not None:
        return current
    raise ValueError(
        "No job id: pass job_id=..., or call create_job() first so the client remembers it."
    )


def _message_dict(message: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        return message.model_dump(mode="json", exclude_none=True)
    if isinstance(message, Mapping):
        return dict(message)
    raise TypeError(f"a message must be a dict or a pydantic model, not {type(message).__name__}")


def chat_body(
    messages: Sequence[Mapping[str, Any] | BaseModel] | None,
    options: ChatOptions,
    *,
    stream: bool = False,
) -> dict[str, Any]:
    """The JSON body of an LLM call; unset options are left out, not sent as null."""
    if messages is None:
        raise ValueError("messages is required")
    if isinstance(messages, str | bytes):
        raise TypeError("messages must be a list of messages, not a string")
    body: dict[str, Any] = {"messages": [_message_dict(m) for m in messages]}
    extra = options.get("extra_body")
    for key, value in options.items():
        if key != "extra_body" and value is not None:
            body[key] = value
    if stream:
        # Ask for the final usage chunk so stream.usage is filled.
        body["stream_options"] = {"include_usage": True}
    if extra:
        body.update(extra)
    return body


def create_job_body(
    team_id: str | None,
    job_type: str,
    metadata: Mapping[str, Any] | None,
    user_id: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"job_type": job_type, "metadata": dict(metadata or {})}
    if team_id:
        body["team_id"] = team_id
    if user_id is not None:
        body["user_id"] = user_id
    return body


def complete_job_body(
    status: str,
    metadata: Mapping[str, Any] | None,
    result: Mapping[str, Any] | None,
    error_message: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status.strip().lower(),
        "metadata": None if metadata is None else dict(metadata),
        "result": None if result is None else dict(result),
    }
    if error_message is not None:
        body["error_message"] = error_message
    return body


def parse_response(model: type[_ModelT], response: httpx.Response) -> _ModelT:
    """Validate a read success body leniently; a misfit is the server's fault, so say so."""
    try:
        return model.model_validate(response.json())
    except ValueError as exc:  # bad JSON, or pydantic's ValidationError
        raise APIResponseValidationError(
            f"Unexpected {model.__name__} body from {response.request.url}: {exc}",
            response=response,
        ) from exc
