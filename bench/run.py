"""``python -m bench``: start everything, run the matrix, print the table and the verdicts.

One invocation measures every target in every cell, because numbers from
separate runs on a shared machine are not comparable (neighbour load drifts by
more than the effects measured). Within a round, each cell runs all targets
back to back, in an order rotated every round, so no target always runs first
or last.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group

from bench import profile, report
from bench.loadgen import LoadResult
from bench.report import Cell, Run
from bench.targets import REPO_ROOT, TARGET_NAMES, Stack, Target, bench_env, started
from bench.tree_cpu import TreeCPU
from saasllm_testing.supervisor import ChildProcess, ChildStartError, ChildStillRunning

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "latest"
_SETUP_ALLOWANCE_S = 30.0  # per-worker job creation before the clock starts
_QUIET_BUSY_PERCENT = 25.0


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(TARGET_NAMES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown targets {unknown}; known: {TARGET_NAMES}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--targets", type=_names, default=list(TARGET_NAMES), help="comma list")
    p.add_argument("--conc", type=_ints, default=[1, 64], help="concurrencies, e.g. 1,64")
    p.add_argument("--delays", type=_ints, default=[0, 20], help="ms per token, e.g. 0,20")
    p.add_argument("--tokens", type=int, default=20, help="content tokens per stream")
    p.add_argument("--duration", type=float, default=6.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="discarded seconds per run")
    p.add_argument("--rounds", type=int, default=1, help="medians over rounds")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    p.add_argument("--quiet-wait", type=float, default=2.0, help="max s to wait for idle CPU")
    p.add_argument(
        "--idle-sample", type=float, default=2.0, help="s of no-load CPU sampling (0: skip)"
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="gateway database (default: a fresh SQLite file), e.g. postgresql+asyncpg://...",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory")
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample the gateway with py-spy in every gateway run (perturbs its CPU figures)",
    )
    p.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable")
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when a verdict fails (not only on errors)"
    )
    return p


def _wait_quiet(max_wait_s: float) -> None:
    """Let the previous run's stragglers and bursts of a neighbour die down, within reason."""
    deadline = time.monotonic() + max_wait_s
    while time.monotonic() < deadline:
        if psutil.cpu_percent(interval=0.25) < _QUIET_BUSY_PERCENT:
            return


def idle_cpu_percent(stack: Stack, seconds: float) -> dict[str, float]:
    """CPU a process burns with no traffic (timers, background tasks), as % of one core.

    At c=1 x 20 ms a call takes ~0.4 s, so 1 % idle CPU alone adds ~4 ms per call:
    this is what to subtract, mentally, before blaming the request path.
    """
    trees = {"upstream": TreeCPU(stack.upstream.pid)}
    trees |= {name: TreeCPU(t.pid) for name, t in stack.targets.items() if t.pid is not None}
    before = {name: tree.seconds() for name, tree in trees.items()}
    time.sleep(seconds)
    return {name: 100 * (tree.seconds() - before[name]) / seconds for name, tree in trees.items()}


def run_one(
    rnd: int,
    cell: Cell,
    target: Target,
    stack: Stack,
    args: argparse.Namespace,
    workdir: Path,
    logs: Path,
) -> Run:
    if target.pid is not None and not psutil.pid_exists(target.pid):
        return Run(rnd, cell, target.name, None, "target process is gone (see its log)")
    spec = target.load_spec(
        delay_ms=cell.delay_ms,
        tokens=args.tokens,
        concurrency=cell.concurrency,
        duration_s=args.duration,
        warmup_s=args.warmup,
        timeout_s=args.timeout,
        upstream_pid=stack.upstream.pid,
    )
    spec_path = workdir / "spec.json"
    out_path = workdir / "result.json"
    out_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps(asdict(spec)))
    child = ChildProcess.start_sync(
        "loadgen",
        [sys.executable, "-m", "bench.loadgen", "--spec", str(spec_path), "--out", str(out_path)],
        log_path=logs / "loadgen.log",
        env=bench_env(),
    )
    sampler = None
    if args.profile and target.name == "gateway" and target.pid is not None:
        name = f"gateway_r{rnd}_d{cell.delay_ms}_c{cell.concurrency}"
        raw = logs.parent / "profiles" / f"{name}.raw"
        raw.parent.mkdir(exist_ok=True)
        seconds = args.warmup + args.duration
        sampler = profile.start(args.py_spy, target.pid, seconds, raw, logs / "py-spy.log")
    limit = _SETUP_ALLOWANCE_S + args.warmup + args.duration + args.timeout + 15
    try:
        rc = child.wait_sync(limit)
    except ChildStillRunning:
        return Run(rnd, cell, target.name, None, f"loadgen still running after {limit:g} s")
    finally:
        child.stop_sync()
        if sampler is not None:
            profile.finish(sampler)
    if rc != 0 or not out_path.exists():
        tail = child.log_tail().strip().splitlines()[-1:] or ["(no output)"]
        return Run(rnd, cell, target.name, None, f"loadgen rc {rc}: {tail[0]}")
    return Run(rnd, cell, target.name, LoadResult(**json.loads(out_path.read_text())))


def _progress(run: Run) -> str:
    head = f"  r{run.round} {run.cell.label:<14} {run.target:<8}"
    r = run.result
    if r is None:
        return f"{head} FAILED: {run.failure}"
    cpu = r.cpu_ms_per_request.get("target")
    cpu_text = "" if cpu is None else f"  CPU {cpu:.2f} ms/req"
    ttft = "-" if r.ttft_p50_ms is None else f"{r.ttft_p50_ms:.1f}"
    gap = "-" if r.gap_p99_ms is None else f"{r.gap_p99_ms:.1f}"
    errors = f"  ERRORS {r.errors} {r.error_kinds}" if r.errors else ""
    return (
        f"{head} {r.rps:8.1f} req/s  TTFT p50 {ttft} ms  gap p99 {gap} ms{cpu_text}"
        f"  others {r.others_percent:.0f}%{errors}"
    )


def _versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("saasllm-server", "litellm", "fastapi", "uvicorn", "aiohttp", "uvloop"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip()


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": _versions(),
        "targets": args.targets,
        "concurrency": args.conc,
        "delays_ms": args.delays,
        "tokens": args.tokens,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "request_timeout_s": args.timeout,
        "gateway_database": _redacted(args.database_url) if args.database_url else "sqlite",
    }


def _redacted(url: str) -> str:
    """The URL without its password, for a results file that may be shared."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # nox or CI stopping us must still run every ``finally`` that stops a child.
    raise SystemExit(128 + signum)


def measure(
    args: argparse.Namespace, cells: list[Cell], meta: dict[str, Any], logs: Path
) -> list[Run]:
    """Every round x cell x target, with the targets started once for the whole matrix."""
    runs: list[Run] = []
    workdir = Path(tempfile.mkdtemp(prefix="saasllm-bench-"))  # config and SQLite file
    try:
        print(f"starting {', '.join(args.targets)} (logs in {logs}) ...", flush=True)
        began = time.monotonic()
        with started(
            args.targets, args.delays, args.tokens, workdir, logs, args.database_url
        ) as stack:
            print(f"ready in {time.monotonic() - began:.1f} s", flush=True)
            if args.idle_sample > 0:
                idle = idle_cpu_percent(stack, args.idle_sample)
                meta["idle_cpu_percent"] = idle
                shares = ", ".join(f"{name} {pct:.2f}%" for name, pct in idle.items())
                print(f"idle CPU over {args.idle_sample:g} s: {shares}", flush=True)
            for rnd in range(1, args.rounds + 1):
                shift = (rnd - 1) % len(args.targets)
                order = args.targets[shift:] + args.targets[:shift]
                for cell in cells:
                    for name in order:
                        _wait_quiet(args.quiet_wait)
                        run = run_one(rnd, cell, stack.targets[name], stack, args, workdir, logs)
                        runs.append(run)
                        print(_progress(run), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return runs


def publish(result: report.Report, out: Path, profiled: bool) -> None:
    json_path, md_path = report.write(result, out)
    print()
    print(report.text_table(result))
    print(report.legend())
    print()
    print("\n".join(report.verdict_lines(result)))
    if profiled:
        summaries = [
            profile.render(raw.stem, profile.summarise(raw))
            for raw in sorted((out / "profiles").glob("*.raw"))
        ]
        (out / "profiles" / "summary.txt").write_text("\n\n".join(summaries) + "\n")
        print("\n" + "\n\n".join(summaries))
    print(f"\nwrote {json_path} and {md_path}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.profile and not args.py_spy:
        parser.error("--profile needs py-spy on PATH or --py-spy PATH")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    out: Path = args.out.resolve()
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    shutil.rmtree(out / "profiles", ignore_errors=True)
    logs.mkdir(parents=True)
    meta = _meta(args)
    cells = [Cell(d, c) for d in args.delays for c in args.conc]
    began = time.monotonic()
    try:
        runs = measure(args, cells, meta, logs)
    except ChildStartError as exc:
        print(f"bench: could not start the targets: {exc}", file=sys.stderr)
        return 2
    meta["wall_s"] = round(time.monotonic() - began, 1)
    result = report.build_report(runs, cells, args.targets, meta)
    publish(result, out, args.profile)
    if result.failed_runs:
        return 1
    if args.strict and not result.verdicts_pass:
        return 1
    return 0
