"""The job API's client: jobs, LLM calls, streams and structured output."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from saasllm import _endpoints as ep
from saasllm._api_client import AsyncAPIClient
from saasllm._compat import JobId, resolve_base_url
from saasllm._policy import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from saasllm._requests import (
    ChatOptions,
    Messages,
    chat_body,
    encode,
    given,
    judged_by_gateway,
    stream_headers,
)
from saasllm._stream import AsyncChatStream
from saasllm._structured import answer_text, check_answer, response_format_for
from saasllm_schema import ChatCompletion, Job, JobComplete, JobCreate, JobCreated, JobResult

__all__ = ["SaaSLLMClient"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class SaaSLLMClient(AsyncAPIClient):
    """Client for a saasllm gateway's job API; its methods are coroutines.

    Usage::

        async with SaaSLLMClient("http://localhost:8003", "acme-corp", "sk-...") as client:
            job_id = await client.create_job("chat")
            async with client.chat_stream(job_id, [{"role": "user", "content": "Hi"}]) as stream:
                async for text in stream.text_stream:
                    print(text, end="")
            result = await client.complete_job(job_id, "completed")

    Args:
        base_url: The gateway's root URL (``api_url=`` is accepted as an alias).
        team_id: Your team; sent as ``X-Team-Id`` and in job bodies. The gateway
            derives the team from the key, so it is informational.
        virtual_key: The team's virtual key, sent as a Bearer token.
        timeout: Seconds per read/write (connect is always 5 s), or an ``httpx.Timeout``.
        max_retries: Extra attempts for failures that are safe to resend: any
            request that never left; a "try again" answer (408, 429, 502-504);
            a lost answer to ``create_job``, ``get_job`` or ``complete_job``
            (which carry an ``Idempotency-Key``). An LLM call whose connection
            broke is not resent: it may have cost tokens.
        http_client: Your own ``httpx.AsyncClient`` (proxies, transports); the SDK
            does not close a client it did not create.

    ``current_job_id`` is per client, not per call: it is only the default for
    methods called without ``job_id``. Streams never store anything on the
    client, so several can run at once on one client.
    """

    team_id: str | None
    current_job_id: str | None

    def __init__(
        self,
        base_url: str | None = None,
        team_id: str | None = None,
        virtual_key: str | None = None,
        *,
        api_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            resolve_base_url(base_url, api_url),
            virtual_key,
            key_name="virtual_key",
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.team_id = team_id or os.environ.get("SAASLLM_TEAM_ID") or None
        if self.team_id:
            # Informational: the gateway derives the team from the key.
            self._headers["X-Team-Id"] = self.team_id
        self.current_job_id = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, team_id={self.team_id!r})"

    def _job_id(self, job_id: str | None) -> str:
        """The explicit id, else the job this client created last."""
        if job_id is not None:
            return str(job_id)
        if self.current_job_id is not None:
            return self.current_job_id
        raise ValueError(
            "No job id: pass job_id=..., or call create_job() first so the client remembers it."
        )

    # --- jobs ---------------------------------------------------------------------

    async def create_job(
        self,
        job_type: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
    ) -> JobId:
        """Open a job and remember it as ``current_job_id``; returns its id (a ``str``)."""
        body = judged_by_gateway(
            JobCreate,
            given(job_type=job_type, team_id=self.team_id, user_id=user_id, metadata=metadata),
        )
        created = await self._call(ep.CREATE_JOB, JobCreated, body=body)
        self.current_job_id = created.job_id
        return JobId(created.job_id, created)

    async def get_job(self, job_id: str | None = None) -> Job:
        return await self._call(ep.GET_JOB.at(job_id=self._job_id(job_id)), Job)

    async def complete_job(
        self,
        job_id: str | None = None,
        status: str = "completed",
        metadata: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
        *,
        error_message: str | None = None,
    ) -> JobResult:
        """Close the job; the charge happens here, and the result carries the new balance.

        ``status`` is ``"completed"``, ``"failed"`` or ``"cancelled"`` in any casing.
        """
        job = self._job_id(job_id)
        body = judged_by_gateway(
            JobComplete,
            given(status=status, metadata=metadata, result=result, error_message=error_message),
        )
        completed = await self._call(ep.COMPLETE_JOB.at(job_id=job), JobResult, body=body)
        if self.current_job_id == job:
            self.current_job_id = None
        return completed

    # --- LLM calls ----------------------------------------------------------------

    async def chat(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatCompletion:
        """One LLM call in a job. No ``model``/``model_group`` means the team's default group.

        ``options`` are the keywords of :class:`~saasllm.ChatOptions` (``model``,
        ``temperature``, ``max_tokens``, ``response_format``, ``tools``...). The
        result has both the OpenAI shape (``choices[0].message["content"]``,
        ``usage``) and the job-API shape (``response.content``, ``metadata``).
        """
        endpoint = ep.LLM_CALL.at(job_id=self._job_id(job_id))
        return await self._call(endpoint, ChatCompletion, body=chat_body(messages, options))

    def chat_stream(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncChatStream:
        """Stream one LLM call: ``async for chunk in client.chat_stream(...)``.

        Takes the keywords of :meth:`chat`. The request goes out on the first
        iteration, or on entering ``async with``; prefer ``async with`` when you
        may stop early, so the connection is released at once rather than by the
        garbage collector.
        """
        job = self._job_id(job_id)
        endpoint = ep.LLM_CALL_STREAM.at(job_id=job)
        content = encode(chat_body(messages, options, stream=True))

        async def open_response(last_event_id: str | None) -> httpx.Response:
            headers = stream_headers(last_event_id)
            return await self._request(endpoint, content=content, headers=headers, stream=True)

        async def cancel(stream_id: str) -> None:
            await self._request(ep.CANCEL_STREAM.at(job_id=job, stream_id=stream_id))

        return AsyncChatStream(open_response, cancel)

    # --- structured output ----------------------------------------------------------

    async def structured_output(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        response_model: type[_ModelT],
        max_repairs: int = 1,
        **options: Unpack[ChatOptions],
    ) -> _ModelT:
        """Ask for JSON matching ``response_model`` and return a validated instance.

        Takes the keywords of :meth:`chat`; ``response_format`` is made from
        ``response_model``. An answer that does not validate gets ``max_repairs``
        repair turns (the model sees its answer and the errors); after that
        pydantic's ``ValidationError`` is raised.
        """
        job = self._job_id(job_id)
        if messages is None:
            raise ValueError("messages is required")
        request: ChatOptions = {**options, "response_format": response_format_for(response_model)}
        conversation: list[Mapping[str, Any] | BaseModel] = list(messages)
        attempt = 0
        while True:
            completion = await self.chat(job, conversation, **request)
            parsed, conversation = check_answer(
                response_model,
                conversation,
                answer_text(completion),
                attempt=attempt,
                max_repairs=max_repairs,
            )
            if parsed is not None:
                return parsed
            attempt += 1

    async def structured_output_stream(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        response_model: type[BaseModel],
        **options: Unpack[ChatOptions],
    ) -> AsyncGenerator[str, None]:
        """Yield the JSON answer's text pieces as they arrive (join them to get the JSON).

        Takes the keywords of :meth:`chat`; ``response_format`` is made from
        ``response_model``.
        """
        request: ChatOptions = {**options, "response_format": response_format_for(response_model)}
        async with self.chat_stream(job_id, messages, **request) as stream:
            async for text in stream.text_stream:
                yield text

    # --- the original client's names (code written for it runs unchanged) ----------

    llm_call = chat
    """The original client's name for :meth:`chat`."""

    structured_call = structured_output
    """The original client's name for :meth:`structured_output`."""
