"""The blocking client: the twin of the async client, for scripts and threads.

A thin I/O shell over the same policy, request and stream code as
:class:`saasllm.SaaSLLMClient`; only the waiting and the socket calls differ.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import uuid4

import httpx
from pydantic import BaseModel

from saasllm._base import BaseClient
from saasllm._compat import JobId, SyncAliases
from saasllm._errors import status_error_from_response, wrap_transport_error
from saasllm._policy import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    is_retryable_exception,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
)
from saasllm._requests import (
    ChatOptions,
    attempt_headers,
    chat_body,
    complete_job_body,
    create_job_body,
    parse_response,
)
from saasllm._streaming import ChatStream
from saasllm._structured import answer_text, check_answer, response_format_for
from saasllm_schema import ChatCompletion, Job, JobCreated, JobResult

__all__ = ["SyncSaaSLLMClient"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
Messages = Sequence[Mapping[str, Any] | BaseModel]


class SyncSaaSLLMClient(SyncAliases, BaseClient):
    """Blocking client for a saasllm gateway.

    Usage::

        with SyncSaaSLLMClient("http://localhost:8003", "acme-corp", "sk-...") as client:
            job_id = client.create_job("chat")
            with client.chat_stream(job_id, [{"role": "user", "content": "Hi"}]) as stream:
                for text in stream.text_stream:
                    print(text, end="")
            result = client.complete_job(job_id, "completed")

    Args:
        base_url: The gateway's root URL (``api_url=`` is accepted as an alias).
        team_id: Your team; sent as ``X-Team-Id`` and in job bodies. The gateway
            derives the team from the key, so it is informational.
        virtual_key: The team's virtual key, sent as a Bearer token.
        timeout: Seconds per read/write (connect is always 5 s), or an ``httpx.Timeout``.
        max_retries: Extra attempts for failures that are safe to resend.
        http_client: Your own ``httpx.Client`` (proxies, transports); the SDK
            does not close a client it did not create.
    """

    def __init__(
        self,
        base_url: str | None = None,
        team_id: str | None = None,
        virtual_key: str | None = None,
        *,
        api_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url,
            team_id,
            virtual_key,
            api_url=api_url,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # --- transport ----------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        stream: bool = False,
        idempotent: bool = False,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response whose body has not been read yet.

        Retries happen only here, before any body byte of a success is read.
        """
        idempotency_key = str(uuid4()) if idempotent else None
        retries_taken = 0
        while True:
            headers = {
                **self._headers,
                **attempt_headers(
                    retries_taken=retries_taken, idempotency_key=idempotency_key, stream=stream
                ),
                **(extra_headers or {}),
            }
            request = self._http.build_request(
                method, url, json=json, headers=headers, timeout=self.timeout
            )
            try:
                response = self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                delay = None
                if is_retryable_exception(exc):
                    delay = retry_delay(
                        retries_taken=retries_taken,
                        max_retries=self.max_retries,
                        retry_after=None,
                    )
                if delay is None:
                    raise wrap_transport_error(exc, request) from exc
                time.sleep(delay)
                retries_taken += 1
                continue
            if response.is_success:
                return response
            try:
                response.read()  # so e.response.json() works on the raised error
            except httpx.RequestError as exc:
                raise wrap_transport_error(exc, request) from exc
            finally:
                response.close()
            retry_after = parse_retry_after(response.headers)
            if is_retryable_status(response.status_code, response.headers):
                delay = retry_delay(
                    retries_taken=retries_taken,
                    max_retries=self.max_retries,
                    retry_after=retry_after,
                )
                if delay is not None:
                    time.sleep(delay)
                    retries_taken += 1
                    continue
            raise status_error_from_response(response, retry_after=retry_after)

    def _request(
        self, method: str, url: str, *, json: Any = None, idempotent: bool = False
    ) -> httpx.Response:
        response = self._send(method, url, json=json, idempotent=idempotent)
        try:
            response.read()
        except httpx.RequestError as exc:
            raise wrap_transport_error(exc, response.request) from exc
        finally:
            response.close()
        return response

    # --- jobs ---------------------------------------------------------------------

    def create_job(
        self,
        job_type: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
    ) -> JobId:
        """Open a job and remember it as ``current_job_id``; returns its id (a ``str``)."""
        response = self._request(
            "POST",
            self._url("/api/jobs/create"),
            json=create_job_body(self.team_id, job_type, metadata, user_id),
            idempotent=True,
        )
        created = parse_response(JobCreated, response)
        self.current_job_id = created.job_id
        return JobId(created.job_id, created)

    def get_job(self, job_id: str | None = None) -> Job:
        response = self._request("GET", self._job_url(self._job_id(job_id)))
        return parse_response(Job, response)

    def complete_job(
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
        response = self._request(
            "POST",
            self._job_url(job, "complete"),
            json=complete_job_body(status, metadata, result, error_message),
            idempotent=True,
        )
        self._forget_job(job)
        return parse_response(JobResult, response)

    # --- LLM calls ----------------------------------------------------------------

    def chat(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        purpose: str | None = None,
        metadata: dict[str, Any] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> ChatCompletion:
        """One LLM call in a job. No ``model``/``model_group`` means the team's default group.

        The result has both the OpenAI shape (``choices[0].message["content"]``,
        ``usage``) and the job-API shape (``response.content``, ``metadata``).
        """
        options: ChatOptions = {
            "model": model,
            "model_group": model_group,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "max_completion_tokens": max_completion_tokens,
            "top_p": top_p,
            "stop": stop,
            "response_format": response_format,
            "tools": tools,
            "tool_choice": tool_choice,
            "parallel_tool_calls": parallel_tool_calls,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "seed": seed,
            "user": user,
            "purpose": purpose,
            "metadata": metadata,
            "extra_body": extra_body,
        }
        job = self._job_id(job_id)
        response = self._request(
            "POST", self._job_url(job, "llm-call"), json=chat_body(messages, options)
        )
        return parse_response(ChatCompletion, response)

    def chat_stream(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        purpose: str | None = None,
        metadata: dict[str, Any] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> ChatStream:
        """Stream one LLM call: ``for chunk in client.chat_stream(...)``.

        The request goes out on the first iteration (or on ``with``).
        """
        options: ChatOptions = {
            "model": model,
            "model_group": model_group,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "max_completion_tokens": max_completion_tokens,
            "top_p": top_p,
            "stop": stop,
            "response_format": response_format,
            "tools": tools,
            "tool_choice": tool_choice,
            "parallel_tool_calls": parallel_tool_calls,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "seed": seed,
            "user": user,
            "purpose": purpose,
            "metadata": metadata,
            "extra_body": extra_body,
        }
        job = self._job_id(job_id)
        url = self._job_url(job, "llm-call-stream")
        body = chat_body(messages, options, stream=True)

        def open_response(last_event_id: str | None) -> httpx.Response:
            resume = {"Last-Event-ID": last_event_id} if last_event_id else None
            return self._send("POST", url, json=body, stream=True, extra_headers=resume)

        def cancel(stream_id: str) -> None:
            response = self._send("DELETE", self._job_url(job, f"streams/{stream_id}"))
            response.close()

        return ChatStream(open_response, cancel)

    # --- structured output ----------------------------------------------------------

    def structured_output(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        response_model: type[_ModelT],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_repairs: int = 1,
    ) -> _ModelT:
        """Ask for JSON matching ``response_model`` and return a validated instance.

        An answer that does not validate gets ``max_repairs`` repair turns (the
        model sees its answer and the errors); after that pydantic's
        ``ValidationError`` is raised.
        """
        job = self._job_id(job_id)
        if messages is None:
            raise ValueError("messages is required")
        response_format = response_format_for(response_model)
        conversation: list[Mapping[str, Any] | BaseModel] = list(messages)
        attempt = 0
        while True:
            completion = self.chat(
                job,
                conversation,
                model=model,
                model_group=model_group,
                temperature=temperature,
                max_tokens=max_tokens,
                response_format=response_format,
            )
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

    def structured_output_stream(
        self,
        job_id: str | None = None,
        messages: Messages | None = None,
        *,
        response_model: type[BaseModel],
        model: str | None = None,
        model_group: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Generator[str, None, None]:
        """Yield the JSON answer's text pieces as they arrive (join them to get the JSON)."""
        stream = self.chat_stream(
            job_id,
            messages,
            model=model,
            model_group=model_group,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format_for(response_model),
        )
        with stream:
            yield from stream.text_stream
