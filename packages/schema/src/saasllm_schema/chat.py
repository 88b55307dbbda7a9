"""Chat requests, completions and streaming chunks, OpenAI-shaped whatever the provider.

Response models are lenient (``extra="allow"``) so a newer server never breaks an
older client; request models are strict about what they need and ignore unknown
fields so clients written for other gateways keep working.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saasllm_schema.mapping import MappingModel
from saasllm_schema.text import NO_NUL

Role = Literal["system", "user", "assistant", "tool", "developer", "function"]

MAX_MESSAGES = 2048
MAX_NAME_LENGTH = 200


class ChatMessage(BaseModel):
    """One message of a conversation as sent by a client."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _content_where_required(self) -> ChatMessage:
        # Only an assistant turn that calls tools may omit its content.
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs content")
        return self


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """Body of an LLM call on the job API (and of ``/v1/chat/completions``).

    ``model`` and ``model_group`` mean the same thing (the documented API used
    both names); neither given means the team's default model group.
    """

    model_config = ConfigDict(extra="ignore")

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    model: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    model_group: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = Field(pattern=NO_NUL, default=None, max_length=256)
    purpose: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    call_metadata: dict[str, Any] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @model_validator(mode="after")
    def _one_model_name(self) -> ChatRequest:
        if self.model and self.model_group and self.model != self.model_group:
            raise ValueError("model and model_group name different groups; send one")
        return self

    @property
    def requested_group(self) -> str | None:
        return self.model_group or self.model

    def upstream_params(self) -> dict[str, Any]:
        """The sampling and format fields forwarded upstream, unset ones left out."""
        return self.model_dump(
            exclude_none=True,
            include=_UPSTREAM_FIELDS,
        )


_UPSTREAM_FIELDS = {
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
}


class Usage(MappingModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ResponseMessage(MappingModel):
    """An answer message. ``content`` is never ``None``: tool-call turns carry ``""``."""

    role: str = "assistant"
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class Choice(MappingModel):
    index: int = 0
    message: ResponseMessage = Field(default_factory=ResponseMessage)
    finish_reason: str | None = None


class ChunkDelta(MappingModel):
    """The increment of one streamed choice; ``content`` is ``""`` when the chunk has none."""

    role: str | None = None
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class ChunkChoice(MappingModel):
    index: int = 0
    delta: ChunkDelta = Field(default_factory=ChunkDelta)
    finish_reason: str | None = None


class ChatCompletionChunk(MappingModel):
    """One streamed event. ``choices`` is empty on the final usage chunk."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None


class CallResponse(MappingModel):
    """The documented ``response`` part of an LLM-call result."""

    content: str = ""
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class CallMetadata(MappingModel):
    tokens_used: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    model: str = ""
    model_group: str = ""
    cost_usd: float = 0.0


class ChatCompletion(MappingModel):
    """Result of a non-streaming call.

    One body serves both audiences: the OpenAI shape (``id``, ``choices``,
    ``usage``...) and the documented job-API shape (``call_id``, ``response``,
    ``metadata``).
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None
    call_id: str = ""
    response: CallResponse = Field(default_factory=CallResponse)
    metadata: CallMetadata = Field(default_factory=CallMetadata)


class CreateAndCallRequest(ChatRequest):
    """One request that creates a job, makes its only call and completes it."""

    job_type: str = Field(pattern=NO_NUL, min_length=1, max_length=100)
    team_id: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(pattern=NO_NUL, default=None, max_length=256)
    job_metadata: dict[str, Any] = Field(default_factory=dict)


class ModelInfo(MappingModel):
    """One entry of ``GET /v1/models``: a model group the key's team may call."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "saasllm"


class ModelList(MappingModel):
    """``GET /v1/models`` in OpenAI's list shape, so the ``openai`` SDK reads it."""

    object: str = "list"
    data: list[ModelInfo] = Field(default_factory=list)
