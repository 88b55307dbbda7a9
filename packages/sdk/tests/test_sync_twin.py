"""The sync client is the async client with only the I/O swapped; this keeps it that way.

``_sync_client.py`` is derived from ``_client.py`` by the textual rules below (the
approach httpcore takes with ``unasync``). Edit ``_client.py``, then regenerate:

    .venv/bin/python packages/sdk/tests/test_sync_twin.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "saasllm"

RULES: list[tuple[str, str]] = [
    (
        '"""The async client: jobs, LLM calls, streams and structured output over the job API."""',
        (
            '"""The blocking client: the twin of the async client, for scripts and threads.\n\n'
            "A thin I/O shell over the same policy, request and stream code as\n"
            ":class:`saasllm.SaaSLLMClient`; only the waiting and the socket calls differ.\n"
            '"""'
        ),
    ),
    ("import asyncio\n", "import time\n"),
    (
        "from collections.abc import AsyncGenerator, Mapping, Sequence",
        "from collections.abc import Generator, Mapping, Sequence",
    ),
    (
        "from saasllm._compat import AsyncAliases, JobId",
        "from saasllm._compat import JobId, SyncAliases",
    ),
    ("from saasllm._streaming import AsyncChatStream", "from saasllm._streaming import ChatStream"),
    ('__all__ = ["SaaSLLMClient"]', '__all__ = ["SyncSaaSLLMClient"]'),
    (
        "class SaaSLLMClient(AsyncAliases, BaseClient):",
        "class SyncSaaSLLMClient(SyncAliases, BaseClient):",
    ),
    ('    """Async client for a saasllm gateway.', '    """Blocking client for a saasllm gateway.'),
    ("async with SaaSLLMClient(", "with SyncSaaSLLMClient("),
    ("async with client.chat_stream(", "with client.chat_stream("),
    (
        "async for text in stream.text_stream:\n                    print",
        "for text in stream.text_stream:\n                    print",
    ),
    ("= await client.", "= client."),
    ("http_client: Your own ``httpx.AsyncClient``", "http_client: Your own ``httpx.Client``"),
    ("http_client: httpx.AsyncClient | None = None", "http_client: httpx.Client | None = None"),
    ("httpx.AsyncClient(timeout=self.timeout)", "httpx.Client(timeout=self.timeout)"),
    (
        """    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(""",
        """    def __enter__(self) -> Self:
        return self

    def __exit__(""",
    ),
    (
        """        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    close = aclose
""",
        """        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
""",
    ),
    (
        """        async def open_response(last_event_id: str | None) -> httpx.Response:
            resume = {"Last-Event-ID": last_event_id} if last_event_id else None
            return await self._send("POST", url, json=body, stream=True, extra_headers=resume)

        async def cancel(stream_id: str) -> None:
            response = await self._send("DELETE", self._job_url(job, f"streams/{stream_id}"))
            await response.aclose()

        return AsyncChatStream(open_response, cancel)""",
        """        def open_response(last_event_id: str | None) -> httpx.Response:
            resume = {"Last-Event-ID": last_event_id} if last_event_id else None
            return self._send("POST", url, json=body, stream=True, extra_headers=resume)

        def cancel(stream_id: str) -> None:
            response = self._send("DELETE", self._job_url(job, f"streams/{stream_id}"))
            response.close()

        return ChatStream(open_response, cancel)""",
    ),
    ("await asyncio.sleep(", "time.sleep("),
    ("await response.aread()", "response.read()"),
    ("await response.aclose()", "response.close()"),
    ("await self._http.send(", "self._http.send("),
    ("await self._send(", "self._send("),
    ("await self._request(", "self._request("),
    ("await self.chat(", "self.chat("),
    ("    async def ", "    def "),
    (") -> AsyncChatStream:", ") -> ChatStream:"),
    (
        '''        """Stream one LLM call: ``async for chunk in client.chat_stream(...)``.

        Not a coroutine: the request goes out on the first iteration (or on
        ``async with``). Prefer ``async with`` when you may stop early, so the
        connection is released at once rather than by the garbage collector.
        """''',
        '''        """Stream one LLM call: ``for chunk in client.chat_stream(...)``.

        The request goes out on the first iteration (or on ``with``).
        """''',
    ),
    (") -> AsyncGenerator[str, None]:", ") -> Generator[str, None, None]:"),
    (
        """        async with stream:
            async for text in stream.text_stream:
                yield text""",
        """        with stream:
            yield from stream.text_stream""",
    ),
]


def derive_sync_client(source: str) -> str:
    for old, new in RULES:
        if old not in source:
            raise AssertionError(f"rule no longer matches _client.py: {old[:60]!r}")
        source = source.replace(old, new)
    return source


def test_sync_client_is_derived_from_async_client() -> None:
    expected = derive_sync_client((SRC / "_client.py").read_text())
    actual = (SRC / "_sync_client.py").read_text()
    assert actual == expected, "regenerate: python packages/sdk/tests/test_sync_twin.py --write"


def test_no_async_left_in_sync_client() -> None:
    body = (SRC / "_sync_client.py").read_text().splitlines()[1:]
    assert not [line for line in body if "async " in line or "await " in line or "Async" in line]


if __name__ == "__main__" and "--write" in sys.argv:
    (SRC / "_sync_client.py").write_text(derive_sync_client((SRC / "_client.py").read_text()))
