"""The command line that serves a gateway for the tests and the benchmark: one place, so
both start the production command (``saasllm-server serve``) the same way."""

from __future__ import annotations

import sys
from pathlib import Path


def serve_command(port: int, config_path: Path, database_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "saasllm_server.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(config_path),
        "--database-url",
        database_url,
    ]
