"""The sync admin client is the async one with only the I/O swapped; this keeps it that way.

``_sync_admin.py`` is derived from ``_admin.py`` by the textual rules below, as
``_sync_client.py`` is from ``_client.py`` (see ``test_sync_twin.py``). Edit
``_admin.py``, then regenerate:

    .venv/bin/python packages/sdk/tests/test_sync_admin_twin.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "saasllm"

# Applied in order; each must match at least once, so a stale rule fails loudly.
RULES: list[tuple[str, str]] = [
    (
        '"""The async admin client: organizations, teams, keys, credits and reports over '
        '``/admin``."""',
        (
            '"""The blocking admin client: the twin of the async one, for scripts and CLIs.\n\n'
            "A thin I/O shell over the same policy, request and error code as\n"
            ":class:`saasllm.SaaSLLMAdmin`; only the waiting and the socket calls differ.\n"
            '"""'
        ),
    ),
    ("import asyncio\nimport os\n", "import os\nimport time\n"),
    (
        "from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence",
        "from collections.abc import Callable, Iterator, Mapping, Sequence",
    ),
    ('__all__ = ["SaaSLLMAdmin"]', '__all__ = ["SyncSaaSLLMAdmin"]'),
    ("class SaaSLLMAdmin:", "class SyncSaaSLLMAdmin:"),
    (
        '    """Async client for a saasllm gateway\'s admin API.',
        '    """Blocking client for a saasllm gateway\'s admin API.',
    ),
    ("async with SaaSLLMAdmin(", "with SyncSaaSLLMAdmin("),
    ("httpx.AsyncClient", "httpx.Client"),
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
        "_FetchPage = Callable[[str | None], Awaitable[Page[_ItemT]]]",
        "_FetchPage = Callable[[str | None], Page[_ItemT]]",
    ),
    (
        """            for item in page.data:
                yield item
""",
        """            yield from page.data
""",
    ),
    ("AsyncIterator[", "Iterator["),
    ("await asyncio.sleep(", "time.sleep("),
    ("    async def ", "    def "),
    ("await ", ""),
]


def derive_sync_admin(source: str) -> str:
    for old, new in RULES:
        if old not in source:
            raise AssertionError(f"rule no longer matches _admin.py: {old[:60]!r}")
        source = source.replace(old, new)
    return source


def test_sync_admin_is_derived_from_async_admin() -> None:
    expected = derive_sync_admin((SRC / "_admin.py").read_text())
    actual = (SRC / "_sync_admin.py").read_text()
    assert actual == expected, "regenerate: see this module's docstring"


def test_no_async_left_in_sync_admin() -> None:
    body = (SRC / "_sync_admin.py").read_text().splitlines()[1:]
    leftovers = [
        line
        for line in body
        if "async " in line or "await " in line or "Async" in line or "asyncio" in line
    ]
    assert not leftovers


if __name__ == "__main__" and "--write" in sys.argv:
    (SRC / "_sync_admin.py").write_text(derive_sync_admin((SRC / "_admin.py").read_text()))
