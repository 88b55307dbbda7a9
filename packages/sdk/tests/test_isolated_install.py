"""The SDK installs and imports with only its declared dependencies: no server, no litellm."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
UV = shutil.which("uv") or "/tmp/tools/bin/uv"

PROBE = """
import importlib.util, sys
import saasllm, saas_litellm_client
from saasllm import SaaSLLMClient, SyncSaaSLLMClient
assert saas_litellm_client.SaasLiteLLMClient is SaaSLLMClient
SaaSLLMClient("http://localhost:8003", "team", "sk-x")
SyncSaaSLLMClient("http://localhost:8003", "team", "sk-x").close()
present = [m for m in ("litellm", "fastapi", "saasllm_server", "sqlalchemy")
           if importlib.util.find_spec(m) is not None]
assert not present, present
leaked = [m for m in sys.modules if m.split(".")[0] in ("litellm", "fastapi", "saasllm_server")]
assert not leaked, leaked
print("ok")
"""


@pytest.mark.timeout(120)
def test_sdk_alone_in_a_fresh_venv(tmp_path: Path) -> None:
    if not Path(UV).exists():
        pytest.skip("uv is not available")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run(
        [UV, "venv", "--quiet", "--python", python, str(venv)],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    interpreter = venv / "bin" / "python"
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(interpreter),
            str(REPO_ROOT / "packages" / "schema"),
            str(REPO_ROOT / "packages" / "sdk"),
        ],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=90,
    )
    result = subprocess.run(
        [str(interpreter), "-I", "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
