"""The real local model (xllamacpp + SmolLM2) behind the launcher, over real HTTP.

Structure is asserted, not text: greedy output changes with the llama.cpp build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from saasllm_testing.local_model import (
    MODEL_ENV,
    LocalModelProcess,
    LocalModelUnavailable,
    find_model_path,
    local_model_available,
)
from saasllm_testing.supervisor import ChildExitedEarly


@pytest.fixture(scope="module")
def local_model() -> Iterator[LocalModelProcess]:
    try:
        find_model_path()
    except LocalModelUnavailable as exc:
        if os.environ.get("SAASLLM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"SAASLLM_REQUIRE_SERVICES=1 but the local model is unavailable: {exc}")
        pytest.skip(f"local model unavailable: {exc}")
    process = LocalModelProcess.start_sync(threads=1)
    yield process
    assert process.stop_sync() == 0


@pytest.mark.local_model
async def test_streams_a_chat_completion(local_model: LocalModelProcess) -> None:
    body = {
        "model": local_model.alias,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "stream": True,
        "temperature": 0,
        "max_tokens": 16,
        "stream_options": {"include_usage": True},
    }
    async with (
        httpx.AsyncClient(base_url=local_model.base_url, timeout=60) as http,
        http.stream("POST", "/chat/completions", json=body) as r,
    ):
        assert r.status_code == 200
        events = [line[6:] async for line in r.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    texts = [
        c["choices"][0]["delta"].get("content")
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert texts
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert reasons[-1] in {"stop", "length"}
    usage = chunks[-1]
    assert usage["choices"] == []
    assert 0 < usage["usage"]["completion_tokens"] <= 16
    assert usage["usage"]["prompt_tokens"] > 0


@pytest.mark.local_model
async def test_models_lists_the_alias(local_model: LocalModelProcess) -> None:
    async with httpx.AsyncClient(base_url=local_model.base_url, timeout=10) as http:
        ids = [m["id"] for m in (await http.get("/models")).json()["data"]]
    assert local_model.alias in ids
    assert local_model.url.startswith("http://127.0.0.1:")


@pytest.mark.local_model
async def test_a_corrupt_model_file_fails_to_start_with_a_typed_error(
    local_model: LocalModelProcess, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"not a gguf file")
    with pytest.raises(
        ChildExitedEarly, match=r"(?s)before it printed its READY line.*Failed to init server"
    ):
        await LocalModelProcess.start(model_path=corrupt, ready_timeout=30)


def test_a_missing_model_file_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "absent.gguf"))
    with pytest.raises(LocalModelUnavailable):
        find_model_path()
    assert local_model_available() is False
