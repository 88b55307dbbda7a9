"""The one way this repository runs a child server: tests, the benchmark, the docs build, the demo.

A child that outlives whoever started it holds a port (8003 is where both the docs
build and the examples expect a gateway) and burns CPU the benchmark then blames
on someone else; a child that never gets ready must fail the run with its own
explanation instead of hanging it. So every child:

* runs in its own session (process group): stopping it stops what it spawned;
* gets SIGTERM when the thread that started it dies (Linux ``PR_SET_PDEATHSIG``),
  so start children from a thread that outlives them (the main thread, or the
  event loop's thread for :meth:`ChildProcess.start`);
* writes stdout and stderr to one log file; the supervisor copies stdout there
  line by line, so a chatty child never blocks on a full pipe, and watches it for
  the ``READY <url>`` line (print it after binding, flushed);
* is waited for with a deadline (:class:`ReadyLine`, :class:`HttpOk`); a child
  that exits or misses the deadline is stopped and raises a
  :class:`ChildStartError` quoting the tail of its log.

Stopping is SIGTERM to the child, a grace period, then SIGKILL to its whole group.
The group is only signalled while its leader is alive or an unreaped zombie, so
the group id cannot have been recycled for somebody else's processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self, TypeAlias
from urllib.parse import urlsplit

from saasllm_testing.stop_on_exit import StopsOnExit

READY_PREFIX = "READY "
"""What a child prints, followed by its base URL, once it accepts connections."""

_LOG_TAIL = 4000
_POLL_S = 0.05
_HTTP_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


class ChildStartError(RuntimeError):
    """A child did not become ready; it has been stopped, and the message quotes its log."""


class ChildSpawnFailed(ChildStartError):
    """The command could not be executed at all (missing program, bad working directory)."""


class ChildExitedEarly(ChildStartError):
    """The child exited before it was ready."""


class ChildNotReady(ChildStartError):
    """The child was still not ready at its deadline."""


class ChildStillRunning(RuntimeError):
    """:meth:`ChildProcess.wait_sync` ran out of time; the child is left running."""


@dataclass(frozen=True, slots=True)
class ReadyLine:
    """Ready once the child prints ``READY <url>`` on stdout.

    The child binds port 0 itself and says where it listens, so no port can be
    taken between choosing it and binding it. ``health_path`` adds a second
    condition for children that print before they serve: ``GET <url><path>`` = 200.
    """

    health_path: str | None = None


@dataclass(frozen=True, slots=True)
class HttpOk:
    """Ready once ``GET url`` answers 200, for children that cannot announce themselves."""

    url: str


Readiness: TypeAlias = ReadyLine | HttpOk


def parse_ready_line(line: str | bytes) -> str | None:
    """The base URL announced by a ``READY <url>`` line, or None for any other line.

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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _parent_death_arming() -> Callable[[int], Callable[[], None]] | None:
    """Resolve ``prctl`` once, in the parent: the forked child must not load libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def for_parent(parent_pid: int) -> Callable[[], None]:
        def arm() -> None:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
            if os.getppid() != parent_pid:
                # The parent died before the signal was armed: nobody would stop us.
                os._exit(1)

        return arm

    return for_parent


_ARM_PARENT_DEATH = _parent_death_arming()


class _StdoutCopier(threading.Thread):
    """Copies the child's stdout into its log and remembers the first READY URL."""

    def __init__(self, name: str, pipe: IO[bytes], log_fd: int) -> None:
        super().__init__(name=f"stdout of {name}", daemon=True)
        self._pipe = pipe
        self._log_fd = log_fd
        self.announced: str | None = None
        self.announced_event = threading.Event()

    def run(self) -> None:
        try:
            for line in iter(self._pipe.readline, b""):
                with contextlib.suppress(OSError):
                    os.write(self._log_fd, line)
                if self.announced is None:
                    url = parse_ready_line(line)
                    if url is not None:
                        self.announced = url
                        self.announced_event.set()
        finally:
            self._pipe.close()
            os.close(self._log_fd)


class ChildProcess(StopsOnExit):
    """A running child command, its log, and how to stop it.

    Start it with :meth:`start_sync` (or ``await`` :meth:`start`); stop it with
    :meth:`stop_sync` (or :meth:`stop`), or use it as a (async) context manager.
    """

    def __init__(
        self,
        *,
        name: str,
        process: subprocess.Popen[bytes],
        copier: _StdoutCopier,
        log_path: Path,
        log_start: int,
        temporary_log: bool,
    ) -> None:
        self._name = name
        self._process = process
        self._copier = copier
        self._log_path = log_path
        self._log_start = log_start
        self._temporary_log = temporary_log
        self._url: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def start_sync(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        ready: Readiness | None = None,
        ready_timeout: float = 30.0,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Self:
        """Run ``argv`` and block until it is ``ready`` (None: as soon as it runs), at most
        ``ready_timeout`` seconds.

        ``name`` is how errors refer to it ("the fake upstream"). ``env`` is added to
        this process's environment. Without ``log_path`` the log is a temporary file,
        deleted when the child is stopped. Raises a :class:`ChildStartError`.
        """
        child = cls._spawn(name, argv, log_path=log_path, env=env, cwd=cwd)
        try:
            child._await_ready(ready, ready_timeout)
        except BaseException:
            child.stop_sync(grace=0)
            raise
        return child

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        ready: Readiness | None = None,
        ready_timeout: float = 30.0,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Self:
        """:meth:`start_sync` for async callers; the wait runs in a worker thread.

        The child is spawned in the calling thread, so it is tied to the event
        loop's thread rather than to a pool thread. Cancelling stops it (from a
        thread of its own: a cancelled task should not wait for a process to die).
        """
        child = cls._spawn(name, argv, log_path=log_path, env=env, cwd=cwd)
        try:
            await asyncio.to_thread(child._await_ready, ready, ready_timeout)
        except BaseException:
            threading.Thread(target=child.stop_sync, args=(0,), daemon=True).start()
            raise
        return child

    @classmethod
    def _spawn(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None,
        env: Mapping[str, str] | None,
        cwd: Path | None,
    ) -> Self:
        temporary = log_path is None
        if log_path is None:
            handle, raw_path = tempfile.mkstemp(prefix="saasllm-child-", suffix=".log")
            os.close(handle)
            log_path = Path(raw_path)
        else:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        log_start = os.fstat(log_fd).st_size
        arm = _ARM_PARENT_DEATH(os.getpid()) if _ARM_PARENT_DEATH is not None else None
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_fd,
                env={**os.environ, **env} if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=arm,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(log_fd)
            if temporary:
                log_path.unlink(missing_ok=True)
            raise ChildSpawnFailed(f"{name} could not be started ({argv[0]}): {exc}") from exc
        assert process.stdout is not None
        copier = _StdoutCopier(name, process.stdout, log_fd)
        copier.start()
        return cls(
            name=name,
            process=process,
            copier=copier,
            log_path=log_path,
            log_start=log_start,
            temporary_log=temporary,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def url(self) -> str | None:
        """Where the child proved ready: the announced URL, or the origin of the polled one."""
        return self._url

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The underlying process, for a test that must kill it the hard way."""
        return self._process

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once stopped or waited for (negative: killed by that signal)."""
        return self._process.returncode

    @property
    def log_path(self) -> Path:
        """stdout and stderr of the child; a temporary log is gone once it is stopped."""
        return self._log_path

    @property
    def running(self) -> bool:
        return not self._exited()

    def log_tail(self, limit: int = _LOG_TAIL) -> str:
        """The end of what this child wrote (not earlier runs appending to the same file)."""
        try:
            with self._log_path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(self._log_start, size - limit))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_sync(self, timeout: float) -> int:
        """Block until the child exits by itself; its leftovers are killed. Returns its status.

        Raises :class:`ChildStillRunning` after ``timeout`` seconds, leaving it running.
        """
        if not self._wait_exit(timeout):
            raise ChildStillRunning(f"{self._name} still running after {timeout:g} s")
        with self._lock:
            return self._terminate(0)

    def stop_sync(self, grace: float = 5.0) -> int:
        """SIGTERM, up to ``grace`` seconds to exit, then SIGKILL to its whole group.

        Idempotent; returns the exit status (0 for a child that handles SIGTERM).
        """
        with self._lock:
            status = self._terminate(grace)
            if self._temporary_log:
                self._log_path.unlink(missing_ok=True)
            return status

    async def stop(self, grace: float = 5.0) -> int:
        """:meth:`stop_sync` for async callers."""
        return await asyncio.to_thread(self.stop_sync, grace)

    def _exited(self) -> bool:
        """Whether the child has exited, without reaping it (its pid stays reserved)."""
        if self._process.returncode is not None:
            return True
        try:
            state = os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return state is not None

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        pause = 0.005
        while not self._exited():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.1)
        return True

    def _terminate(self, grace: float) -> int:
        process = self._process
        if process.returncode is None and not self._exited():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            self._wait_exit(grace)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._copier.join(timeout=1.0)
        return process.returncode

    def _await_ready(self, ready: Readiness | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if isinstance(ready, ReadyLine):
            url = self._await_announcement(deadline, timeout)
            if ready.health_path is not None:
                self._await_http_ok(url + ready.health_path, deadline, timeout)
            self._url = url
        elif isinstance(ready, HttpOk):
            self._await_http_ok(ready.url, deadline, timeout)
            self._url = _origin(ready.url)

    def _await_announcement(self, deadline: float, timeout: float) -> str:
        announced = self._copier.announced_event
        while not announced.wait(_POLL_S):
            if self._exited():
                raise self._failed(ChildExitedEarly, "before it printed its READY line")
            if time.monotonic() >= deadline:
                raise self._failed(ChildNotReady, f"printed no READY line within {timeout:g} s")
        assert self._copier.announced is not None
        return self._copier.announced

    def _await_http_ok(self, url: str, deadline: float, timeout: float) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            if self._exited():
                raise self._failed(ChildExitedEarly, f"before {url} answered 200")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failed(ChildNotReady, f"did not answer 200 on {url} in {timeout:g} s")
            try:
                with opener.open(url, timeout=min(1.0, remaining)) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                pass
            time.sleep(min(_HTTP_POLL_S, max(0.0, deadline - time.monotonic())))

    def _failed(self, kind: type[ChildStartError], reason: str) -> ChildStartError:
        with self._lock:
            status = self._terminate(grace=2.0)
            tail = self.log_tail()
            if self._temporary_log:
                self._log_path.unlink(missing_ok=True)
        what = f"exited with rc {status} {reason}" if kind is ChildExitedEarly else reason
        where = "its log" if self._temporary_log else str(self._log_path)
        detail = f"\n--- log tail ({where}) ---\n{tail}" if tail.strip() else ""
        return kind(f"{self._name} {what}{detail}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} pid={self.pid} url={self._url}>"
