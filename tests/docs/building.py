"""Building the docs site in a subprocess, as ``nox -s docs`` and CI do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY_PORTS = (8003, 8004)
BUILD_TIMEOUT_S = 900


@dataclass(frozen=True)
class Build:
    """The outcome of one ``mkdocs build`` run."""

    returncode: int
    output: str
    seconds: float
    site_dir: Path


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def mkdocs_build(
    project: Path, site_dir: Path, *, env: dict[str, str] | None = None, timeout: float
) -> Build:
    """``mkdocs build --strict`` in ``project`` (snippet paths are relative to the cwd)."""
    busy = [port for port in GATEWAY_PORTS if port_busy(port)]
    if busy:
        pytest.fail(f"ports {busy} are in use: the docs build needs them for its gateways")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Build(done.returncode, done.stdout + done.stderr, time.monotonic() - started, site_dir)
