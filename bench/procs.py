"""Child processes that cannot outlive the benchmark.

Every child starts in its own session (process group), so stopping it also
stops anything it spawned, and a benchmark interrupted half-way leaves no
gateway holding a port. Every wait has a deadline: a target that never gets
ready fails the run with the tail of its log instead of hanging CI.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group

READY_PREFIX = b"READY "
_LOG_TAIL = 3000


class StartError(RuntimeError):
    """A child exited or stayed silent before it was ready."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-_LOG_TAIL:]
        except OSError:
            return ""

    def fail(self, reason: str) -> StartError:
        self.stop()
        return StartError(f"{self.name} {reason}\n--- {self.log_path} ---\n{self.log_tail()}")

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM to the whole group, SIGKILL after ``grace_s``.

        The group is only signalled while its leader is unreaped, so its id cannot
        have been recycled for somebody else's processes.
        """
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace_s)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready_line: bool = False,
) -> Child:
    """Start ``argv`` in a new session; stdout is piped only when a READY line is awaited."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if ready_line else log,
            stderr=log,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return Child(name, proc, log_path)


def wait_ready_line(child: Child, timeout_s: float) -> str:
    """The URL a child prints as ``READY <url>``; nothing else is read from its stdout."""
    stdout = child.proc.stdout
    assert stdout is not None, "spawn(..., ready_line=True) pipes stdout"
    fd = stdout.fileno()
    deadline = time.monotonic() + timeout_s
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise child.fail(f"printed no READY line within {timeout_s:g} s")
        readable, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if not readable:
            if child.proc.poll() is not None:
                raise child.fail(f"exited with rc {child.proc.returncode} before READY")
            continue
        data = os.read(fd, 4096)
        if not data:
            child.proc.wait(timeout_s)
            raise child.fail(f"exited with rc {child.proc.returncode} before READY")
        buffer += data
        for line in buffer.splitlines():
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].decode().strip()


def wait_http_ok(child: Child, url: str, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200, the child dies, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise child.fail(f"exited with rc {child.proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise child.fail(f"did not answer 200 on {url} within {timeout_s:g} s")


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
