"""Names and call forms kept for code written against the original SaaS LiteLLM client.

Everything here exists so that such code runs unchanged; new code should use the
primary names (``base_url=``, ``chat``, ``structured_output``). The method
aliases ``llm_call`` and ``structured_call`` are one assignment each at the end
of the client class (a mixin would have to repeat every signature, per flavour),
and ``SaasLiteLLMClient`` is assigned in ``saasllm/__init__.py``.
"""

from __future__ import annotations

from datetime import datetime

from saasllm_schema import ChatMessage, JobCreated

__all__ = ["JobId", "Message", "resolve_base_url"]

Message = ChatMessage
"""The original client's message model (``from typed_client import Message``)."""


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
