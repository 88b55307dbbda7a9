"""An OpenAI-compatible upstream served by a child process: the fake or the local model.

Both announce themselves with a ``READY <url>`` line and are configured in a
gateway the same way (``openai/<alias>`` at :attr:`UpstreamProcess.base_url`),
so fixtures, the demo and the docs treat them alike.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Self

from saasllm_testing.stop_on_exit import StopsOnExit
from saasllm_testing.supervisor import ChildProcess, ReadyLine
from saasllm_testing.upstream_address import UpstreamAddress


class UpstreamProcess(UpstreamAddress, StopsOnExit):
    """Where a child upstream listens, the model name it answers to, and its lifetime."""

    def __init__(self, child: ChildProcess, alias: str) -> None:
        if child.url is None:
            raise ValueError(f"{child.name} was started without waiting for its READY line")
        self._child = child
        self._url = child.url
        self._alias = alias

    @staticmethod
    def module_command(module: str, args: list[str]) -> list[str]:
        """``python -m <module> <args>`` with this interpreter, so the child sees this venv."""
        return [sys.executable, "-m", module, *args]

    @classmethod
    async def _start_child(
        cls, name: str, argv: list[str], alias: str, *, ready_timeout: float, log_path: Path | None
    ) -> Self:
        """Spawn ``argv`` under the supervisor and wait for its READY line (each ``start``)."""
        child = await ChildProcess.start(
            name, argv, ready=ReadyLine(), ready_timeout=ready_timeout, log_path=log_path
        )
        return cls(child, alias)

    @classmethod
    def _start_child_sync(
        cls, name: str, argv: list[str], alias: str, *, ready_timeout: float, log_path: Path | None
    ) -> Self:
        """Blocking twin of :meth:`_start_child` (each ``start_sync``)."""
        child = ChildProcess.start_sync(
            name, argv, ready=ReadyLine(), ready_timeout=ready_timeout, log_path=log_path
        )
        return cls(child, alias)

    @property
    def alias(self) -> str:
        """The model name to send upstream."""
        return self._alias

    @property
    def pid(self) -> int:
        return self._child.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once stopped (0 for a clean SIGTERM exit), else None."""
        return self._child.returncode

    @property
    def child(self) -> ChildProcess:
        """The supervised process, for its log."""
        return self._child

    def stop_sync(self, grace: float = 5.0) -> int:
        """SIGTERM, up to ``grace`` seconds, then SIGKILL; returns the exit status."""
        return self._child.stop_sync(grace)

    async def stop(self, grace: float = 5.0) -> int:
        """:meth:`stop_sync` for async callers."""
        return await self._child.stop(grace)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} url={self._url} alias={self._alias!r}>"
