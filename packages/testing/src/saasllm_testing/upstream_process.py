"""An OpenAI-compatible upstream served by a child process: the fake or the local model.

Both announce themselves with a ``READY <url>`` line and are configured in a
gateway the same way (``openai/<alias>`` at :attr:`UpstreamProcess.base_url`),
so fixtures, the demo and the docs treat them alike.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self

from saasllm_testing.supervisor import ChildProcess


class UpstreamProcess:
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

    @property
    def url(self) -> str:
        """Base URL without ``/v1``, e.g. ``http://127.0.0.1:43121``."""
        return self._url

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: :attr:`url` + ``/v1``."""
        return self._url + "/v1"

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} url={self._url} alias={self._alias!r}>"
