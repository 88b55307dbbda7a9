"""The ten seed examples, run as users run them, against a real gateway on :8003.

Each example runs as ``python -m examples.streaming_0N_...`` in a temporary
directory, against the ``examples_gateway`` (team ``acme-corp``, key
``sk-your-key``) backed by the deterministic fake upstream, so the assertions can
use the exact answer text. The failure paths of Examples 7 and 10 are driven for
real: the gateway itself refuses (403, 429) or the upstream really stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from saasllm import SaaSLLMClient
from saasllm_server.storage.tables import jobs
from saasllm_testing.fake import answer_text, tokens_for
from tests.support import db
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin

ROOT = Path(__file__).resolve().parents[2]
TEAM = "acme-corp"
KEY = "sk-your-key"
EXAMPLES_PORT = 8003
CREDITS = 1000
EXAMPLE_TIMEOUT_S = 60.0

POEM = "Write a short poem about Python"
QUANTUM = "Explain quantum computing in 2 sentences"
CSV = "How do I read a CSV file in Python?"
STORY = "Write a short sci-fi story (3 paragraphs)"
DOCKER = "Explain Docker containers"
BLOG = "Write a technical blog post about microservices (500 words)"
BLOCKCHAIN = "Explain blockchain technology"
QUESTIONS = ["What is machine learning?", "What is deep learning?", "What is neural network?"]
DOCUMENTS = [
    "AI is transforming healthcare with predictive diagnostics...",
    "Renewable energy sources are becoming more cost-effective...",
    "Remote work has changed how companies operate globally...",
]


def text(prompt: str, max_tokens: int | None = None) -> str:
    """The exact text the fake upstream streams for ``prompt``."""
    return "".join(tokens_for(prompt, max_tokens))


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def acme(examples_gateway: GatewayProcess) -> Admin:
    return Admin(examples_gateway.url)


def _team_state(acme: Admin) -> dict[str, Any]:
    response = acme.http.get(f"/admin/teams/{TEAM}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(autouse=True)
def fresh_acme(acme: Admin) -> Iterator[None]:
    """acme-corp at 1000 credits on the `default` group; put back as it was afterwards."""
    before = _team_state(acme)
    acme.set_balance(TEAM, CREDITS)
    acme.update_team(TEAM, default_model_group="default")
    yield
    acme.update_team(
        TEAM,
        default_model_group=before["default_model_group"],
        max_concurrent_streams=before["max_concurrent_streams"],
        rpm_limit=before["rpm_limit"],
    )
    acme.set_balance(TEAM, before["credits_remaining"])


async def run_example(
    module: str, cwd: Path, *, stdin: str | None = None, time_limit: float = EXAMPLE_TIMEOUT_S
) -> str:
    """Run ``python -m examples.<module>`` in ``cwd``; return its stdout (it must exit 0).

    Runs without blocking the event loop, so tests can keep streams of their own open.
    """
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"examples.{module}",
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), time_limit
        )
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(
            f"examples.{module} did not finish in {time_limit}s\n"
            f"stdout:\n{out.decode()}\nstderr:\n{err.decode()}"
        )
    stdout, stderr = out.decode(), err.decode()
    assert process.returncode == 0, (
        f"examples.{module} exited {process.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    )
    assert "Traceback" not in stderr, stderr
    return stdout


def is_interleaving(output: str, sequences: Sequence[Sequence[str]]) -> bool:
    """True if ``output`` is exactly the pieces of ``sequences`` merged, each kept in order.

    Concurrent streams print piece by piece, so their output interleaves anywhere
    between pieces, but never inside one and never out of order within a stream.
    """
    ends = tuple(len(s) for s in sequences)

    @cache
    def walk(state: tuple[int, ...], pos: int) -> bool:
        if state == ends:
            return pos == len(output)
        for i, sequence in enumerate(sequences):
            j = state[i]
            if j < ends[i] and output.startswith(sequence[j], pos):
                following = (*state[:i], j + 1, *state[i + 1 :])
                if walk(following, pos + len(sequence[j])):
                    return True
        return False

    return walk(tuple(0 for _ in sequences), 0)


async def _jobs_of(url: str, team_id: str) -> list[dict[str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(jobs).where(jobs.c.team_id == team_id))
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def held_stream(base_url: str, model_group: str = "slow") -> AsyncIterator[None]:
    """A stream of acme-corp's held open (first chunk received) until the block exits."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with SaaSLLMClient(base_url=base_url, team_id=TEAM, virtual_key=KEY) as client:
            job_id = await client.create_job("held_stream")
            try:
                async with client.chat_stream(
                    job_id,
                    [{"role": "user", "content": BLOG}],
                    model_group=model_group,
                ) as stream:
                    async for _chunk in stream:
                        started.set()
                        await release.wait()
                        break
            finally:
                await client.complete_job(job_id, "cancelled")

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    try:
        done, _ = await asyncio.wait(
            {task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()  # raises what went wrong
            pytest.fail("the held stream ended before the test released it")
        assert waiter in done, "the held stream sent no chunk within 15 s"
        yield
    finally:
        waiter.cancel()
        release.set()
        await asyncio.wait_for(task, 15)


# --- the examples -------------------------------------------------------------------------


async def test_example_01_basic(tmp_path: Path) -> None:
    out = await run_example("streaming_01_basic", tmp_path)
    assert out == f"Assistant: {answer_text(POEM)}\n\nCredits remaining: 999\n"
    assert out.rstrip().endswith("Credits remaining: 999")


async def test_example_02_accumulating(tmp_path: Path) -> None:
    out = await run_example("streaming_02_accumulating", tmp_path)
    answer = text(QUANTUM)
    assert answer == answer_text(QUANTUM)
    assert out == f"{answer}\n\nFull response length: {len(answer)} characters\n"


async def test_example_03_interactive(tmp_path: Path) -> None:
    first, second = "What is FastAPI?", "How does it compare to Flask?"
    out = await run_example(
        "streaming_03_interactive", tmp_path, stdin=f"{first}\n{second}\nquit\n"
    )
    assert out.startswith("Interactive Chat (type 'quit' to exit)\n" + "-" * 50 + "\n")
    # The second prompt is the last user message of a four-message conversation.
    assert f"\nYou: Assistant: {text(first)}\n" in out
    assert f"\nYou: Assistant: {text(second)}\n" in out
    assert text(second) == "Echo: How does it compare to Flask?"
    assert "\nYou: Goodbye!\n" in out
    assert "Chat ended. Total messages: 4\n" in out
    assert out.endswith("Credits remaining: 999\n")
    assert "Error:" not in out


async def test_example_04_system_prompt(tmp_path: Path) -> None:
    out = await run_example("streaming_04_system_prompt", tmp_path)
    assert out == f"{text(CSV)}\n"
    assert text(CSV) == answer_text(CSV)


async def test_example_05_multi_document(tmp_path: Path) -> None:
    out = await run_example("streaming_05_multi_document", tmp_path)
    bar = "=" * 60
    expected = ""
    for i, document in enumerate(DOCUMENTS, 1):
        analysis = text(f"Analyze this text:\n\n{document}", 200)
        assert analysis.startswith("Echo: Analyze this text: ")
        expected += f"\n{bar}\nDocument {i}/3\n{bar}\nAnalysis: {analysis}"
    expected += f"\n\n{bar}\nAnalysis complete! Analyzed 3 documents\nCredits remaining: 999\n"
    assert out == expected


async def test_example_06_progress(tmp_path: Path) -> None:
    out = await run_example("streaming_06_progress", tmp_path)
    story = text(STORY)
    assert out.startswith(f"Generating story...\n\n{'-' * 60}\n{story}\n{'-' * 60}\n")
    assert "\nStatistics:\n" in out
    assert f"\n  Chunks received: {len(tokens_for(STORY))}\n" in out
    assert f"\n  Characters: {len(story)}\n" in out
    assert re.search(r"\n  Time: \d+\.\d\ds\n", out), out
    assert re.search(r"\n  Speed: \d+\.\d chars/sec\n", out), out


async def test_example_07_success(tmp_path: Path) -> None:
    out = await run_example("streaming_07_error_handling", tmp_path)
    assert out == (
        f"{text(DOCKER)}\n\nStream completed successfully ({len(tokens_for(DOCKER))} chunks)\n"
    )


async def test_example_07_credits_exhausted_is_403(
    acme: Admin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process spends the last credits between create_job and the stream."""
    example = importlib.import_module("examples.streaming_07_error_handling")
    created: list[str] = []

    class SpentElsewhereClient(SaaSLLMClient):
        async def create_job(self, *args: Any, **kwargs: Any) -> Any:
            job_id = await super().create_job(*args, **kwargs)
            created.append(job_id)
            await asyncio.to_thread(acme.set_balance, TEAM, 0)
            return job_id

    monkeypatch.setattr(example, "SaaSLLMClient", SpentElsewhereClient)
    await example.robust_streaming()
    out = capsys.readouterr().out
    assert "\n\nHTTP Error: 403\nInsufficient credits or access denied\n" in out
    assert "Unexpected error" not in out
    assert "Stream completed" not in out
    assert len(created) == 1
    assert acme.balance(TEAM) == 0  # the job was closed as failed: nothing charged


async def test_example_07_concurrency_limit_is_429(
    acme: Admin, examples_gateway: GatewayProcess, tmp_path: Path
) -> None:
    """One stream already open with max_concurrent_streams=1: the example's stream is refused."""
    acme.update_team(TEAM, max_concurrent_streams=1)
    async with held_stream(examples_gateway.url):
        started = time.monotonic()
        out = await run_example("streaming_07_error_handling", tmp_path)
        elapsed = time.monotonic() - started
    assert "\n\nHTTP Error: 429\nRate limited - please wait and retry\n" in out
    assert "Unexpected error" not in out
    assert "Stream completed" not in out
    # The SDK honoured Retry-After: 1 for its two retries before giving up.
    assert elapsed >= 2, elapsed


async def test_example_08_concurrent(tmp_path: Path, examples_gateway: GatewayProcess) -> None:
    url = examples_gateway.database_url
    jobs_before = {j["id"] for j in await _jobs_of(url, TEAM)}
    calls_before = {c["id"] for c in await db.calls(url, TEAM, 0)}

    out = await run_example("streaming_08_concurrent", tmp_path)

    tail = "\nAll questions answered! Credits: 999\n"
    assert out.endswith(tail)
    streams = [[f"\nQuestion: {q}\n", "Answer: ", *tokens_for(q), "\n"] for q in QUESTIONS]
    assert is_interleaving(out[: -len(tail)], streams), out
    for question in QUESTIONS:
        assert f"\nQuestion: {question}\n" in out
        assert "".join(tokens_for(question)) == answer_text(question)

    new_jobs = [j for j in await _jobs_of(url, TEAM) if j["id"] not in jobs_before]
    assert len(new_jobs) == 1, new_jobs
    job = new_jobs[0]
    assert job["job_type"] == "faq_batch"
    assert job["status"] == "completed"
    assert job["credits_charged"] == 1
    after = await db.calls(url, TEAM, len(calls_before) + 3)
    new_calls = [c for c in after if c["id"] not in calls_before]
    assert len(new_calls) == 3
    assert {c["job_id"] for c in new_calls} == {job["id"]}
    assert all(c["status"] == "success" and c["stream"] for c in new_calls)
    assert sorted(c["completion_tokens"] for c in new_calls) == sorted(
        len(tokens_for(q)) for q in QUESTIONS
    )


async def test_example_09_to_file(tmp_path: Path) -> None:
    out = await run_example("streaming_09_to_file", tmp_path)
    post = text(BLOG)
    assert out == f"{post}\n\nContent saved to: blog_post.txt\n"
    saved = tmp_path / "blog_post.txt"
    assert saved.read_text() == post
    assert saved.read_text() == answer_text(BLOG)


async def test_example_10_within_timeout(tmp_path: Path) -> None:
    out = await run_example("streaming_10_timeout", tmp_path)
    assert out == f"{text(BLOCKCHAIN)}\n\nStream completed within 30s\n"


async def test_example_10_stalled_stream_times_out(
    acme: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    """The upstream sends one word and stalls: asyncio.timeout(2) ends the example's wait."""
    acme.update_team(TEAM, default_model_group="stall")
    example = importlib.import_module("examples.streaming_10_timeout")
    started = time.monotonic()
    await example.streaming_with_timeout(2)
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert out == f"{tokens_for(BLOCKCHAIN)[0]}\n\nStream exceeded 2s timeout\n"
    assert 2 <= elapsed < 10, elapsed
    assert acme.balance(TEAM) == CREDITS  # closed as failed: no charge


async def test_example_01_on_the_real_local_model(
    acme: Admin, local_model: Any, tmp_path: Path
) -> None:
    acme.update_team(TEAM, default_model_group="local")
    out = await run_example("streaming_01_basic", tmp_path, time_limit=100)
    assert out.startswith("Assistant: ")
    assert out.endswith("\n\nCredits remaining: 999\n")
    answer = out[len("Assistant: ") : -len("\n\nCredits remaining: 999\n")]
    assert answer.strip(), out
    assert answer != answer_text(POEM)  # the model's words, not the fake's
