"""The child-process supervisor on real processes: readiness, logs, stopping whole trees."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no types-psutil in the dev group
import pytest

from saasllm_testing.ports import free_port, port_in_use
from saasllm_testing.supervisor import (
    ChildExitedEarly,
    ChildNotReady,
    ChildProcess,
    ChildSpawnFailed,
    ChildStillRunning,
    HttpOk,
    ReadyLine,
    parse_ready_line,
)

ANNOUNCE_AND_WAIT = (
    "import time; print('READY http://127.0.0.1:9/ extra', flush=True); time.sleep(60)"
)
TERM_IS_CLEAN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "print('READY http://127.0.0.1:9', flush=True)\n"
    "time.sleep(60)\n"
)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def eventually_gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ready_line_parsing() -> None:
    assert parse_ready_line("READY http://127.0.0.1:8080\n") == "http://127.0.0.1:8080"
    assert parse_ready_line(b"READY http://127.0.0.1:8080/ load_s=0.9") == "http://127.0.0.1:8080"
    assert parse_ready_line("llama.cpp: loading model") is None
    assert parse_ready_line("READY") is None
    assert parse_ready_line("READY soon") is None


def test_a_ready_line_gives_the_url_and_sigterm_a_clean_exit() -> None:
    with ChildProcess.start_sync("clean", python(TERM_IS_CLEAN), ready=ReadyLine()) as child:
        assert child.url == "http://127.0.0.1:9"
        assert child.running
        assert child.stop_sync() == 0
    assert child.returncode == 0
    assert not child.log_path.exists(), "a temporary log goes away with its child"


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('READY http://127.0.0.1:9', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = ChildProcess.start_sync("stubborn", python(code), ready=ReadyLine())
    started = time.monotonic()
    assert child.stop_sync(grace=0.3) == -signal.SIGKILL
    assert time.monotonic() - started < 3
    assert child.stop_sync() == -signal.SIGKILL, "stopping twice is harmless"


def test_stopping_a_child_stops_what_it_spawned() -> None:
    code = """
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(f"grandchild {grandchild.pid}", flush=True)
        print("READY http://127.0.0.1:9", flush=True)
        time.sleep(60)
    """
    child = ChildProcess.start_sync("parent", python(code), ready=ReadyLine())
    grandchild = int(child.log_tail().split("grandchild ")[1].split()[0])
    assert not gone(grandchild)
    child.stop_sync(grace=2)
    assert eventually_gone(grandchild)


def test_an_early_exit_is_typed_and_quotes_the_log() -> None:
    code = "import sys; print('half a line', end=''); print('boom', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ChildExitedEarly, match=r"(?s)^crasher exited with rc 3 .*log tail.*boom"):
        ChildProcess.start_sync("crasher", python(code), ready=ReadyLine())


def test_a_silent_child_misses_its_deadline_and_is_stopped(tmp_path: Path) -> None:
    log = tmp_path / "silent.log"
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    with pytest.raises(ChildNotReady, match=r"printed no READY line within 0.5 s") as caught:
        ChildProcess.start_sync(
            "silent", python(code), ready=ReadyLine(), ready_timeout=0.5, log_path=log
        )
    assert str(log) in str(caught.value)
    assert eventually_gone(int(log.read_text().split()[0]))


def test_a_missing_program_is_a_spawn_failure() -> None:
    with pytest.raises(ChildSpawnFailed, match="nowhere could not be started"):
        ChildProcess.start_sync("nowhere", ["/nonexistent/program"])


def test_http_readiness_polls_until_the_url_answers(tmp_path: Path) -> None:
    port = free_port()
    assert not port_in_use(port)
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}/"
    with ChildProcess.start_sync("web", argv, ready=HttpOk(url), cwd=tmp_path) as child:
        assert child.url == f"http://127.0.0.1:{port}"
        assert port_in_use(port)
    assert not port_in_use(port)


def test_a_ready_line_can_also_wait_for_a_health_path(tmp_path: Path) -> None:
    port = free_port()
    code = f"""
        import http.server, time
        print("READY http://127.0.0.1:{port}", flush=True)
        time.sleep(0.3)
        handler = http.server.SimpleHTTPRequestHandler
        http.server.ThreadingHTTPServer(("127.0.0.1", {port}), handler).serve_forever()
    """
    ready = ReadyLine(health_path="/")
    with ChildProcess.start_sync("late", python(code), ready=ready, cwd=tmp_path) as child:
        assert port_in_use(port)
        assert child.url == f"http://127.0.0.1:{port}"


def test_stdout_after_ready_lands_in_the_log_without_blocking_the_child(tmp_path: Path) -> None:
    log = tmp_path / "chatty.log"
    log.write_text("an earlier run\n")
    code = """
        import sys, time
        print("READY http://127.0.0.1:9", flush=True)
        sys.stdout.write("x" * 200_000 + "\\nthe end\\n")
        sys.stdout.flush()
        time.sleep(60)
    """
    with ChildProcess.start_sync("chatty", python(code), ready=ReadyLine(), log_path=log) as child:
        deadline = time.monotonic() + 5
        while "the end" not in child.log_tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.log_tail().endswith("the end\n")
        assert "an earlier run" not in child.log_tail(limit=10**6)
    assert log.read_text().startswith("an earlier run\nREADY http://127.0.0.1:9\n")


def test_wait_sync_returns_the_status_or_says_it_is_still_running() -> None:
    done = ChildProcess.start_sync("quick", python("import sys; sys.exit(4)"))
    assert done.wait_sync(10) == 4
    slow = ChildProcess.start_sync("slow", python("import time; time.sleep(60)"))
    with pytest.raises(ChildStillRunning):
        slow.wait_sync(0.2)
    assert slow.running
    slow.stop_sync()


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    code = f"""
        import sys, time
        from saasllm_testing.supervisor import ChildProcess, ReadyLine
        child = ChildProcess.start_sync(
            "orphan", [sys.executable, "-c", {ANNOUNCE_AND_WAIT!r}], ready=ReadyLine()
        )
        print(child.pid, flush=True)
        time.sleep(60)
    """
    parent = subprocess.Popen(python(code), stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        orphan = int(parent.stdout.readline())
        assert not gone(orphan)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    assert eventually_gone(orphan)


async def test_async_start_and_stop() -> None:
    child = await ChildProcess.start("async", python(TERM_IS_CLEAN), ready=ReadyLine())
    async with child:
        assert child.url == "http://127.0.0.1:9"
    assert child.returncode == 0


async def test_cancelling_an_async_start_stops_the_child(tmp_path: Path) -> None:
    log = tmp_path / "cancelled.log"
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    task = asyncio.create_task(
        ChildProcess.start(
            "cancelled", python(code), ready=ReadyLine(), ready_timeout=30, log_path=log
        )
    )
    deadline = time.monotonic() + 5
    while not log.exists() or not log.read_text().strip():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(eventually_gone, int(log.read_text().split()[0]))


def test_env_is_added_to_ours_and_cwd_is_honoured(tmp_path: Path) -> None:
    code = """
        import os
        print(os.environ["EXTRA"], os.environ.get("PATH") is not None, os.getcwd())
        print("READY http://127.0.0.1:9", flush=True)
        import time; time.sleep(60)
    """
    with ChildProcess.start_sync(
        "env", python(code), ready=ReadyLine(), env={"EXTRA": "yes"}, cwd=tmp_path
    ) as child:
        assert child.log_tail().splitlines()[0] == f"yes True {tmp_path}"


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert port_in_use(port)
