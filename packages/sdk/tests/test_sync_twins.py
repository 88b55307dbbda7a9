"""The blocking modules are their async sources with only the I/O swapped.

They are written by ``scripts/generate_sync.py``; these tests run its rules
(not a copy of them), so a hand edit to a twin, or an async source edited
without regenerating, fails here as well as in ``nox -s lint``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import generate_sync
from scripts.generate_sync import SDK, TWINS, Twin

IDS = [twin.target for twin in TWINS]


@pytest.mark.parametrize("twin", TWINS, ids=IDS)
def test_twin_is_generated_from_its_source(twin: Twin) -> None:
    actual = (SDK / twin.target).read_text()
    assert actual == generate_sync.render(twin), "run: python scripts/generate_sync.py"


@pytest.mark.parametrize("twin", TWINS, ids=IDS)
def test_no_async_left_in_the_twin(twin: Twin) -> None:
    header, *body = (SDK / twin.target).read_text().splitlines()
    assert header == twin.header.rstrip("\n")
    leftovers = [
        line
        for line in body
        if any(word in line for word in ("async ", "await ", "Async", "asyncio", "aclose"))
    ]
    assert not leftovers


def test_check_passes_here_and_reports_a_stale_twin(tmp_path: Path) -> None:
    assert generate_sync.main(["--check"]) == 0
    sdk = tmp_path / "saasllm"
    shutil.copytree(SDK, sdk)
    twin = TWINS[-1]
    with (sdk / twin.target).open("a") as edited:
        edited.write("# edited by hand\n")
    diffs = generate_sync.stale(sdk)
    assert list(diffs) == [twin]
    assert "-# edited by hand" in diffs[twin]


def test_rules_keep_word_boundaries() -> None:
    source = (
        "import asyncio\n"
        "async def f(x: Awaitable[Page[int]]) -> AsyncIterator[int]:\n"
        "    await asyncio.sleep(1)\n"
        "    async with SaaSLLMClient() as c:\n"
        "        async for y in c.stream():\n"
        "            yield y\n"
        "    SyncSaaSLLMClient, awaited, my_aclose, AsyncChatStreamX\n"
    )
    assert generate_sync.unasync(source) == (
        "import time\n"
        "def f(x: Page[int]) -> Iterator[int]:\n"
        "    time.sleep(1)\n"
        "    with SyncSaaSLLMClient() as c:\n"
        "        yield from c.stream()\n"
        "    SyncSaaSLLMClient, awaited, my_aclose, AsyncChatStreamX\n"
    )
