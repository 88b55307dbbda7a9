"""Names and call forms kept for code written against the original SaaS LiteLLM client.

Everything here exists so that such code runs unchanged; new code should use the
primary names (``base_url=``, ``chat``, ``structured_output``). Keeping the
aliases in one module keeps the primary API readable and makes them easy to find.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Unpack

from pydantic import BaseModel

from saasllm_schema import ChatCompletion, ChatMessage, JobCreated

if TYPE_CHECKING:
    from saasllm._requests import ChatOptions

__all__ = ["AsyncAliases", "JobId", "Message", "SyncAliases", "resolve_base_url"]

Message = ChatMessage
"""The original client's message model (``from typed_client import Message``)."""

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class JobId(str):
    """A job id that is a ``str`` and also answers ``.job_id``.

    Most pages pass the result of ``create_job`` straight on as a string; some do
    ``job = await client.create_job(...)`` and then read ``job.job_id``. Being both
    serves both without a second return type.
    """

    _created: JobCreated | None

    def __new__(cls, value: str, created: JobCreated | None = None) -> JobId:
        self = super().__new__(cls, value)
        self._created = created
        return self

    @property
    def job_id(self) -> str:
        return str(self)

    @property
    def team_id(self) -> str | None:
        return self._created.team_id if self._created else None

    @property
    def status(self) -> str | None:
        return self._created.status if self._created else None

    @property
    def created_at(self) -> datetime | None:
        return self._created.created_at if self._created else None


def resolve_base_url(base_url: str | None, api_url: str | None) -> str | None:
    """``api_url=`` was the original client's name for ``base_url=``."""
    if base_url is not None and api_url is not None and base_url != api_url:
        raise TypeError("pass base_url or its alias api_url, not both")
    return base_url if base_url is not None else api_url


_Messages = Sequence[Mapping[str, Any] | BaseModel]


class _AsyncCore(Protocol):
    async def chat(
        self,
        job_id: str | None = None,
        messages: _Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatCompletion: ...

    async def structured_output(
        self,
        job_id: str | None = None,
        messages: _Messages | None = None,
        *,
        response_model: type[_ModelT],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_repairs: int = 1,
    ) -> _ModelT: ...


class _SyncCore(Protocol):
    def chat(
        self,
        job_id: str | None = None,
        messages: _Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatCompletion: ...

    def structured_output(
        self,
        job_id: str | None = None,
        messages: _Messages | None = None,
        *,
        response_model: type[_ModelT],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_repairs: int = 1,
    ) -> _ModelT: ...


class AsyncAliases:
    """``llm_call`` and ``structured_call``: the names some pages use on ``SaasLiteLLMClient``."""

    async def llm_call(
        self: _AsyncCore,
        job_id: str | None = None,
        messages: _Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatCompletion:
        return await self.chat(job_id, messages, **options)

    async def structured_call(
        self: _AsyncCore,
        job_id: str | None = None,
        messages: _Messages | None = None,
        *,
        response_model: type[_ModelT],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_repairs: int = 1,
    ) -> _ModelT:
        return await self.structured_output(
            job_id,
            messages,
            response_model=response_model,
            model=model,
            model_group=model_group,
            temperature=temperature,
            max_tokens=max_tokens,
            max_repairs=max_repairs,
        )


class SyncAliases:
    """The same aliases on the blocking client."""

    def llm_call(
        self: _SyncCore,
        job_id: str | None = None,
        messages: _Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatCompletion:
        return self.chat(job_id, messages, **options)

    def structured_call(
        self: _SyncCore,
        job_id: str | None = None,
        messages: _Messages | None = None,
        *,
        response_model: type[_ModelT],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_repairs: int = 1,
    ) -> _ModelT:
        return self.structured_output(
            job_id,
            messages,
            response_model=response_model,
            model=model,
            model_group=model_group,
            temperature=temperature,
            max_tokens=max_tokens,
            max_repairs=max_repairs,
        )
