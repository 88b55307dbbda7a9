"""Optional py-spy sampling of the gateway while it is under load (``--profile``).

The table says how much CPU the gateway spends per call; this says where. It
perturbs what it measures (the sampler shares the same two cores), so CPU
figures of a profiled run are for finding hot spots, not for the verdicts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from saasllm_testing.supervisor import ChildProcess, ChildStillRunning


def start(py_spy: str, pid: int, seconds: float, raw_path: Path, log_path: Path) -> ChildProcess:
    return ChildProcess.start_sync(
        "py-spy",
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            # Pausing the gateway per sample (py-spy's default) made idle worker threads
            # show up as busy and tripled its CPU per call here; reading it live does not.
            "--nonblocking",
            "--function",  # one entry per function, not per line
            "--output",
            str(raw_path),
        ],
        log_path=log_path,
    )


def finish(child: ChildProcess, timeout_s: float = 30) -> None:
    """Let py-spy write its profile (it stops by itself after its duration), within reason."""
    try:
        child.wait_sync(timeout_s)
    except ChildStillRunning:
        child.stop_sync()


@dataclass
class Summary:
    samples: int  # non-idle samples: each is 1/rate s of CPU on the sampled threads
    self_time: list[tuple[str, float]]  # (frame, share of samples)
    self_by_package: list[tuple[str, float]]  # by the package of the innermost frame
    inclusive_by_package: list[tuple[str, float]]  # a stack counts once per package in it
    own_inclusive: list[tuple[str, float]]  # the gateway's own functions: its phases


OWN_PACKAGE = "saasllm_server"
# Frames from process start down to the event loop are on every loop sample and say nothing;
# a sample whose innermost frame is one of these is the loop's own (C) work: I/O, callbacks.
_LOOP_ENTRY = ("Runner.run ", "BaseEventLoop.run_forever ", "run_until_complete ")


def package(frame: str) -> str:
    """``"fn (litellm/router.py:12)"`` -> ``"litellm"``; stdlib modules keep their file name."""
    start = frame.rfind("(")
    location = frame[start + 1 :].rstrip(")") if start >= 0 else frame
    path = location.rsplit(":", 1)[0]
    return path.split("/", 1)[0]


def summarise(raw_path: Path, top: int = 12) -> Summary:
    """Shares per function and per package from py-spy's ``-f raw`` (collapsed) output."""
    self_counts: Counter[str] = Counter()
    self_packages: Counter[str] = Counter()
    incl_packages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    text = raw_path.read_text(errors="replace") if raw_path.exists() else ""
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        inner = _below_loop(frames)
        total += count
        self_counts[frames[-1]] += count
        self_packages[package(frames[-1])] += count
        for name in {package(f) for f in inner}:
            incl_packages[name] += count
        for frame in {f for f in inner if f"({OWN_PACKAGE}/" in f}:
            own[frame] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, n / total) for k, n in counter.most_common(top)] if total else []

    return Summary(
        total, shares(self_counts), shares(self_packages), shares(incl_packages), shares(own)
    )


def _below_loop(frames: list[str]) -> list[str]:
    for index in range(len(frames) - 1, -1, -1):
        if frames[index].startswith(_LOOP_ENTRY):
            return frames[index + 1 :]
    return frames


def render(title: str, summary: Summary) -> str:
    lines = [f"{title}: {summary.samples} non-idle samples"]
    for heading, rows in (
        ("functions, self", summary.self_time),
        ("packages, self", summary.self_by_package),
        ("packages, inclusive", summary.inclusive_by_package),
        (f"{OWN_PACKAGE} functions, inclusive", summary.own_inclusive),
    ):
        lines.append(f"  top {heading}:")
        lines += [f"    {share * 100:5.1f}%  {name}" for name, share in rows]
    return "\n".join(lines)
