"""Closed-loop streaming load against one target, in its own process.

It runs in a child process so its own CPU (about as much as a bare relay's)
never lands in the target's account, and it measures the target's CPU itself,
at the exact edges of its measured window.

Window: workers send back to back from the start; the first ``warmup_s``
seconds are discarded; then the process-tree CPU is sampled, and sampled again
``duration_s`` later. A request counts when it *ends* inside that window, so
requests/s and CPU/request are both steady-state rates over the same interval
(no partial warm-up requests charged to the window, no tail of unfinished ones
left out). After the window no new request starts; in-flight ones are allowed
to finish but do not count.

    python -m bench.loadgen --spec spec.json --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group

from bench.tree_cpu import TreeCPU


@dataclass
class LoadSpec:
    """One cell against one target; written by the orchestrator as JSON."""

    url: str
    path: str  # ``{job}`` is replaced by the worker's job id when ``job_create_path`` is set
    body: dict[str, Any]
    concurrency: int
    duration_s: float
    warmup_s: float
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0
    watch: dict[str, int] = field(default_factory=dict)  # name -> pid of a process tree
    job_create_path: str | None = None
    job_create_body: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    ok: int
    errors: int
    window_s: float
    rps: float
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    gap_max_ms: float | None
    content_gap_p99_ms: float | None  # gaps between events before [DONE] only
    done_wait_p50_ms: float | None
    done_wait_p99_ms: float | None
    events_per_request: float | None
    cpu_ms_per_request: dict[str, float | None]  # watched trees and "loadgen"
    # The kernel counts process CPU in clock ticks (10 ms here): each figure above is
    # only good to about +- one tick spread over the calls, which matters at c=1 x 20 ms.
    cpu_resolution_ms_per_request: float | None
    cpu_percent: dict[str, float]  # of one core, over the window
    rss_mb: dict[str, float]  # at the end of the window: growth across cells shows leaks
    machine_busy_percent: float  # all cores summed: 200 = two cores busy
    others_percent: float  # busy CPU nobody watched (neighbours, the kernel)
    started_in_window: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Record:
    start: float
    end: float = 0.0
    ttft: float | None = None
    done_wait: float | None = None  # last event -> [DONE]: where per-call bookkeeping shows
    error: str | None = None
    detail: str = ""
    events: int = 0
    gaps: list[float] = field(default_factory=list)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), on sorted data."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle)


@dataclass
class _CPUSample:
    at: float
    trees: dict[str, float]
    machine: float
    rss_mb: dict[str, float] = field(default_factory=dict)


def _sample(trees: dict[str, TreeCPU], with_rss: bool = False) -> _CPUSample:
    at = time.perf_counter()
    cpu = {name: t.seconds() for name, t in trees.items()}
    rss = {name: t.rss_mb() for name, t in trees.items()} if with_rss else {}
    return _CPUSample(at, cpu, _machine_busy_seconds(), rss)


def _content_of_first_choice(payload: bytes) -> bool:
    try:
        chunk = orjson.loads(payload)
        return bool(chunk["choices"][0]["delta"].get("content"))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return False


async def _one_request(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> _Record:
    record = _Record(start=time.perf_counter())
    done = False
    try:
        async with session.post(url, data=body, headers=headers) as response:
            if response.status != 200:
                record.error = f"http {response.status}"
                record.detail = (await response.content.read(300)).decode(errors="replace")
                return record
            last: float | None = None
            error_event = False
            async for line in response.content:
                if not line.startswith(b"data:"):
                    if line.startswith(b"event: error"):
                        error_event = True
                    continue
                now = time.perf_counter()
                if last is not None:
                    record.gaps.append(now - last)
                last = now
                payload = line[5:].strip()
                if error_event:
                    record.error, record.detail = "sse error event", payload[:300].decode()
                    return record
                if payload == b"[DONE]":
                    done = True
                    record.done_wait = record.gaps[-1] if record.gaps else None
                    break
                record.events += 1
                if (
                    record.ttft is None
                    and b'"content"' in payload
                    and _content_of_first_choice(payload)
                ):
                    record.ttft = now - record.start
    except TimeoutError:
        record.error = "timeout"
    except aiohttp.ClientError as exc:
        record.error, record.detail = type(exc).__name__, str(exc)[:300]
    finally:
        record.end = time.perf_counter()
    if record.error is None:
        if not done:
            record.error = "no [DONE]"
        elif record.ttft is None:
            record.error = "no content"
    return record


async def _job_paths(session: aiohttp.ClientSession, spec: LoadSpec) -> list[str]:
    """One job per worker, created before the clock starts (the create is not measured)."""
    create_path = spec.job_create_path
    if create_path is None:
        return [spec.path] * spec.concurrency

    async def create() -> str:
        async with session.post(
            spec.url + create_path, json=spec.job_create_body, headers=spec.headers
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"job create answered {response.status}: {text[:300]}")
            job_id = orjson.loads(text)["job_id"]
            return spec.path.replace("{job}", str(job_id))

    return list(await asyncio.gather(*(create() for _ in range(spec.concurrency))))


async def run_load(spec: LoadSpec) -> LoadResult:
    trees = {name: TreeCPU(pid) for name, pid in spec.watch.items()}
    trees["loadgen"] = TreeCPU(psutil.Process().pid)
    body = orjson.dumps(spec.body)
    headers = {"Content-Type": "application/json", **spec.headers}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=spec.timeout_s)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False
    ) as session:
        paths = await _job_paths(session, spec)
        start = time.perf_counter()
        window_start = start + spec.warmup_s
        window_end = window_start + spec.duration_s
        records: list[_Record] = []
        edges: list[_CPUSample] = []

        async def sampler() -> None:
            await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
            edges.append(_sample(trees))
            await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
            edges.append(_sample(trees, with_rss=True))

        async def worker(path: str) -> None:
            url = spec.url + path
            while time.perf_counter() < window_end:
                records.append(await _one_request(session, url, body, headers))

        deadline = spec.warmup_s + spec.duration_s + spec.timeout_s + 5
        await asyncio.wait_for(asyncio.gather(sampler(), *map(worker, paths)), deadline)
    return _summarise(records, edges[0], edges[1])


def _summarise(records: list[_Record], first: _CPUSample, last: _CPUSample) -> LoadResult:
    window_s = last.at - first.at
    inside = [r for r in records if first.at <= r.end <= last.at]
    good = [r for r in inside if r.error is None]
    bad = [r for r in inside if r.error is not None]
    kinds = Counter(r.error for r in bad if r.error)
    samples: dict[str, str] = {}
    for r in bad:
        if r.error and r.error not in samples:
            samples[r.error] = r.detail
    ttft = sorted(r.ttft * 1000 for r in good if r.ttft is not None)
    latency = sorted((r.end - r.start) * 1000 for r in good)
    gaps = sorted(g * 1000 for r in good for g in r.gaps)
    content_gaps = sorted(
        g * 1000 for r in good for g in (r.gaps[:-1] if r.done_wait is not None else r.gaps)
    )
    done_waits = sorted(r.done_wait * 1000 for r in good if r.done_wait is not None)
    ok = len(good)
    cpu_ms: dict[str, float | None] = {}
    cpu_pct: dict[str, float] = {}
    watched = 0.0
    for name, before in first.trees.items():
        used = last.trees[name] - before
        watched += used
        cpu_ms[name] = used * 1000 / ok if ok else None
        cpu_pct[name] = 100 * used / window_s
    busy = last.machine - first.machine
    return LoadResult(
        ok=ok,
        errors=len(bad),
        window_s=window_s,
        rps=ok / window_s,
        ttft_p50_ms=percentile(ttft, 50),
        ttft_p99_ms=percentile(ttft, 99),
        latency_p50_ms=percentile(latency, 50),
        latency_p99_ms=percentile(latency, 99),
        gap_p50_ms=percentile(gaps, 50),
        gap_p99_ms=percentile(gaps, 99),
        gap_max_ms=gaps[-1] if gaps else None,
        content_gap_p99_ms=percentile(content_gaps, 99),
        done_wait_p50_ms=percentile(done_waits, 50),
        done_wait_p99_ms=percentile(done_waits, 99),
        events_per_request=sum(r.events for r in good) / ok if ok else None,
        cpu_ms_per_request=cpu_ms,
        cpu_resolution_ms_per_request=_TICK_MS / ok if ok else None,
        cpu_percent=cpu_pct,
        rss_mb=last.rss_mb,
        machine_busy_percent=100 * busy / window_s,
        others_percent=100 * max(0.0, busy - watched) / window_s,
        started_in_window=sum(1 for r in records if first.at <= r.start <= last.at),
        error_kinds=dict(kinds),
        error_samples=samples,
    )


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, LoadResult]], LoadResult]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--spec", type=Path, required=True, help="LoadSpec as JSON")
    parser.add_argument("--out", type=Path, required=True, help="where LoadResult goes, as JSON")
    args = parser.parse_args(argv)
    spec = LoadSpec(**json.loads(args.spec.read_text()))
    result = _event_loop_runner()(run_load(spec))
    args.out.write_text(json.dumps(asdict(result), indent=1))


if __name__ == "__main__":
    main()
