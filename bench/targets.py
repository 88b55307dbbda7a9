"""The fake upstream and the three targets in front of it, as real processes.

All targets stream from one shared fake upstream, so the only difference
between them is the hop under test. Each target knows how to phrase the same
call (20 tokens at N ms per token) in its own API: raw model names for
``direct`` and ``bare``, a model group and a job for ``gateway``.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from bench.loadgen import LoadSpec
from saasllm_testing.fake import FakeUpstreamProcess
from saasllm_testing.gateway_command import serve_command
from saasllm_testing.ports import free_port
from saasllm_testing.supervisor import ChildProcess, HttpOk, ReadyLine

TARGET_NAMES = ("direct", "bare", "gateway")
BENCH_KEY = "sk-bench-key-0001"
REPO_ROOT = Path(__file__).resolve().parent.parent
_PROMPT = [{"role": "user", "content": "bench"}]


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    path: str
    pid: int | None  # the process tree whose CPU is the target's; None for ``direct``
    headers: dict[str, str] = field(default_factory=dict)
    # "openai": raw model names, ``stream: true``; "job": our job API, a model group per
    # delay and one job per load-generator worker (created before the clock starts).
    api: Literal["openai", "job"] = "openai"
    job_create_path: str | None = None

    def body(self, delay_ms: int, tokens: int) -> dict[str, Any]:
        if self.api == "job":
            return {
                "model": f"d{delay_ms}",
                "messages": _PROMPT,
                "max_tokens": tokens,
                "stream_options": {"include_usage": True},
            }
        return {
            "model": f"fake-d{delay_ms}-t{tokens}",
            "messages": _PROMPT,
            "max_tokens": tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    def load_spec(
        self,
        *,
        delay_ms: int,
        tokens: int,
        concurrency: int,
        duration_s: float,
        warmup_s: float,
        timeout_s: float,
        upstream_pid: int,
    ) -> LoadSpec:
        watch = {"upstream": upstream_pid}
        if self.pid is not None:
            watch["target"] = self.pid
        return LoadSpec(
            url=self.url,
            path=self.path,
            body=self.body(delay_ms, tokens),
            concurrency=concurrency,
            duration_s=duration_s,
            warmup_s=warmup_s,
            headers=self.headers,
            timeout_s=timeout_s,
            watch=watch,
            job_create_path=self.job_create_path,
            job_create_body={"job_type": "bench"},
        )


@dataclass
class Stack:
    upstream: FakeUpstreamProcess
    upstream_url: str
    targets: dict[str, Target]


def gateway_config(upstream_base_url: str, delays: Sequence[int], tokens: int) -> dict[str, Any]:
    """One raw-relayed deployment and one model group per delay, for one well-funded team."""
    model_list = [
        {
            "model_name": f"fake-d{d}",
            "litellm_params": {
                "model": f"openai/fake-d{d}-t{tokens}",
                "api_base": upstream_base_url,
                "api_key": "sk-x",
            },
            "model_info": {"id": f"fake-d{d}-1"},
        }
        for d in delays
    ]
    groups = [f"d{d}" for d in delays]
    return {
        "model_list": model_list,
        "model_groups": [{"name": f"d{d}", "members": [f"fake-d{d}"]} for d in delays],
        "organizations": [
            {
                "id": "bench",
                "teams": [
                    {
                        "id": "bench-team",
                        "credits": 100_000_000,
                        "default_model_group": groups[0],
                        "model_groups": groups,
                        "keys": [{"key": BENCH_KEY}],
                    }
                ],
            }
        ],
    }


def _start_upstream(logs: Path) -> FakeUpstreamProcess:
    return FakeUpstreamProcess.start_sync(log_path=logs / "upstream.log")


def _start_bare(upstream_url: str, logs: Path) -> tuple[ChildProcess, Target]:
    child = ChildProcess.start_sync(
        "bare relay",
        [sys.executable, "-m", "bench.bare_relay", "--upstream", upstream_url + "/v1"],
        ready=ReadyLine(health_path="/health"),
        log_path=logs / "bare.log",
        env=bench_env(),
    )
    assert child.url is not None
    return child, Target("bare", child.url, "/v1/chat/completions", child.pid)


def bench_env() -> dict[str, str]:
    """The repo root added to ``sys.path``, so ``-m bench.*`` imports from any directory."""
    existing = os.environ.get("PYTHONPATH")
    path = f"{REPO_ROOT}{os.pathsep}{existing}" if existing else str(REPO_ROOT)
    return {"PYTHONPATH": path}


def _start_gateway(
    upstream_url: str,
    delays: Sequence[int],
    tokens: int,
    workdir: Path,
    logs: Path,
    database_url: str | None,
) -> tuple[ChildProcess, Target]:
    config_path = workdir / "gateway.yaml"
    config = gateway_config(upstream_url + "/v1", delays, tokens)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "SAASLLM_ADMIN_KEY": "sk-admin-" + secrets.token_urlsafe(16),
        # Limits stay ON (every call is counted and takes a stream slot), just out of reach.
        "SAASLLM_DEFAULT_RPM_LIMIT": "1000000",
        "SAASLLM_DEFAULT_MAX_CONCURRENT_STREAMS": "1000",
        "SAASLLM_LOG_LEVEL": "warning",
    }
    child = ChildProcess.start_sync(
        "gateway",
        serve_command(
            port, config_path, database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        ),
        ready=HttpOk(url + "/health"),
        ready_timeout=90,
        log_path=logs / "gateway.log",
        env=env,
        cwd=workdir,  # no stray .env from wherever the benchmark was started
    )
    target = Target(
        "gateway",
        url,
        "/api/jobs/{job}/llm-call-stream",
        child.pid,
        headers={"Authorization": f"Bearer {BENCH_KEY}"},
        api="job",
        job_create_path="/api/jobs/create",
    )
    return child, target


@contextmanager
def started(
    names: Sequence[str],
    delays: Sequence[int],
    tokens: int,
    workdir: Path,
    logs: Path,
    database_url: str | None = None,
) -> Iterator[Stack]:
    """Start the upstream and the named targets; everything is stopped on the way out.

    The gateway gets a fresh SQLite file in ``workdir`` unless ``database_url`` names
    another database (e.g. PostgreSQL, as in production; bootstrapping it is idempotent).
    """
    with ExitStack() as stack:
        upstream = _start_upstream(logs)
        upstream_url = upstream.url
        stack.callback(upstream.stop_sync)
        targets: dict[str, Target] = {}
        for name in names:
            if name == "direct":
                targets[name] = Target("direct", upstream_url, "/v1/chat/completions", None)
                continue
            if name == "bare":
                child, target = _start_bare(upstream_url, logs)
            elif name == "gateway":
                child, target = _start_gateway(
                    upstream_url, delays, tokens, workdir, logs, database_url
                )
            else:
                raise ValueError(f"unknown target {name!r}; known: {', '.join(TARGET_NAMES)}")
            stack.callback(child.stop_sync)
            targets[name] = target
        yield Stack(upstream, upstream_url, targets)
