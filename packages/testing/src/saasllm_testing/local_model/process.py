"""The local model served in a child process, for the ``demo`` command and test fixtures.

A child process rather than an in-process ``xllamacpp.Server``: llama.cpp's
threads and its stderr logging stay out of the gateway, and SIGTERM stops it
cleanly whatever the gateway's event loop is doing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final, Self

from saasllm_testing.local_model.model_file import DEFAULT_ALIAS, find_model_path
from saasllm_testing.upstream_process import UpstreamProcess

MODULE: Final = "saasllm_testing.local_model"
NAME: Final = "the local model (xllamacpp)"


class LocalModelProcess(UpstreamProcess):
    """``python -m saasllm_testing.local_model`` under the supervisor."""

    @staticmethod
    def command(model_path: Path, *, threads: int, alias: str, ctx: int) -> list[str]:
        return UpstreamProcess.module_command(
            MODULE,
            [
                "--model",
                str(model_path),
                "--port",
                "0",
                "--threads",
                str(threads),
                "--alias",
                alias,
                "--ctx",
                str(ctx),
            ],
        )

    @classmethod
    async def start(
        cls,
        *,
        threads: int = 1,
        alias: str = DEFAULT_ALIAS,
        ready_timeout: float = 60,
        model_path: Path | None = None,
        ctx: int = 2048,
        log_path: Path | None = None,
    ) -> Self:
        """Spawn the server and wait for READY.

        Raises :class:`~saasllm_testing.local_model.LocalModelUnavailable` before
        spawning anything when the wheels are missing, ``ChildStartError`` when the
        child fails.
        """
        path = model_path if model_path is not None else await asyncio.to_thread(find_model_path)
        argv = cls.command(path, threads=threads, alias=alias, ctx=ctx)
        return await cls._start_child(
            NAME, argv, alias, ready_timeout=ready_timeout, log_path=log_path
        )

    @classmethod
    def start_sync(
        cls,
        *,
        threads: int = 1,
        alias: str = DEFAULT_ALIAS,
        ready_timeout: float = 60,
        model_path: Path | None = None,
        ctx: int = 2048,
        log_path: Path | None = None,
    ) -> Self:
        """Blocking twin of :meth:`start`."""
        path = model_path if model_path is not None else find_model_path()
        argv = cls.command(path, threads=threads, alias=alias, ctx=ctx)
        return cls._start_child_sync(
            NAME, argv, alias, ready_timeout=ready_timeout, log_path=log_path
        )
