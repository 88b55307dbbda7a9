"""The layering contracts (import-linter, run by ``nox -s lint``) hold, and really catch
an upward import: a copy of the tree with ``domain`` importing ``api`` fails them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = [p for p in ROOT.glob("packages/*/src/*") if (p / "__init__.py").is_file()]


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on the import path, so a copied
    # tree there shadows the installed one.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / "pyproject.toml")],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for source in PACKAGES:
        shutil.copytree(
            source, tmp_path / source.name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def test_the_tree_keeps_its_contracts(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_domain_importing_api_breaks_the_layers(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    billing = tree / "saasllm_server/domain/billing.py"
    billing.write_text(billing.read_text() + "\nimport saasllm_server.api.jobs  # upward\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "server layers" in result.stdout
    assert "BROKEN" in result.stdout
    assert "saasllm_server.domain.billing -> saasllm_server.api.jobs" in result.stdout


def test_a_route_importing_storage_breaks_its_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    route = tree / "saasllm_server/api/health.py"
    route.write_text(route.read_text() + "\nimport saasllm_server.storage.ledger  # bypass\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "routes reach storage only through domain services BROKEN" in result.stdout
