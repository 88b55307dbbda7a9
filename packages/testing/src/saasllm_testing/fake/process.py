"""The fake upstream in a child process, so its CPU and event loop are its own."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Self

from saasllm_testing.upstream_process import UpstreamProcess

MODULE: Final = "saasllm_testing.fake"
NAME: Final = "the fake upstream"


class FakeUpstreamProcess(UpstreamProcess):
    """``python -m saasllm_testing.fake`` under the supervisor; :attr:`alias` is ``"fake"``."""

    @staticmethod
    def command(
        *, host: str = "127.0.0.1", port: int = 0, delay_ms: float = 0, ttft_ms: float = 0
    ) -> list[str]:
        return UpstreamProcess.module_command(
            MODULE,
            [
                "--host",
                host,
                "--port",
                str(port),
                "--delay-ms",
                repr(delay_ms),
                "--ttft-ms",
                repr(ttft_ms),
            ],
        )

    @classmethod
    async def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0,
        ttft_ms: float = 0,
        ready_timeout: float = 30,
        log_path: Path | None = None,
    ) -> Self:
        """Spawn the fake and wait for READY; raises ``ChildStartError`` on failure."""
        argv = cls.command(host=host, port=port, delay_ms=delay_ms, ttft_ms=ttft_ms)
        return await cls._start_child(
            NAME, argv, "fake", ready_timeout=ready_timeout, log_path=log_path
        )

    @classmethod
    def start_sync(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0,
        ttft_ms: float = 0,
        ready_timeout: float = 30,
        log_path: Path | None = None,
    ) -> Self:
        """Blocking twin of :meth:`start`."""
        argv = cls.command(host=host, port=port, delay_ms=delay_ms, ttft_ms=ttft_ms)
        return cls._start_child_sync(
            NAME, argv, "fake", ready_timeout=ready_timeout, log_path=log_path
        )
