"""CPU seconds and memory of a process tree, the unit the benchmark charges a target for.

A target's work happens in its own process and in anything it spawns, so
samples cover the live descendants too. Starting and stopping those processes
is the supervisor's job (``saasllm_testing.supervisor``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group


class TreeCPU:
    """User + system seconds (and resident memory) of a process and its live descendants."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)

    def _tree(self) -> list[Any]:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss_mb(self) -> float:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += proc.memory_info().rss
        return total / 2**20
