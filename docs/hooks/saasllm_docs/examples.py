"""Run an example file exactly as a reader would, and render its real output into a page.

Each run is ``python -m examples.<name>`` in a subprocess, from an empty
temporary directory (Example 9 writes ``blog_post.txt`` into its working
directory) with ``PYTHONPATH`` set to the checkout, against a gateway the hook
started. Before each run the demo team's balance is set (1000 by default), so
"Credits remaining" is what a reader sees on a fresh ``saasllm-server demo``,
whatever order the pages are built in.

Interactive examples are driven like a person at a terminal: when the program
prints its prompt and waits, the next scripted line is typed into its stdin and
echoed into the transcript, so the page shows the conversation in order.

Any failure (non-zero exit, a timeout, no output, a gateway that is down)
raises :class:`ExampleFailed`; markdown-exec reports it as a WARNING, and
``mkdocs build --strict`` aborts.
"""

from __future__ import annotations

import codecs
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from saasllm_docs import REPO_ROOT
from saasllm_docs.gateways import GATEWAYS

log = logging.getLogger("mkdocs.hooks.saasllm")

DEFAULT_TIMEOUT_S = 300.0
"""Generous: a slow CI machine, several calls per example, a busy single-slot model."""

FENCE = "`" * 8
"""Longer than any fence a model might print (Example 4's answer contains code blocks)."""


FAIL_FAST_ENV = "SAASLLM_DOCS_FAIL_FAST"
"""Set to 1 to skip every example after the first failure (the build fails either way)."""

_failures: list[str] = []


class ExampleFailed(RuntimeError):
    """An example exited non-zero, timed out, or printed nothing."""


def run_example(
    name: str,
    *,
    inputs: Sequence[str] = (),
    prompt: str = "",
    gateway: str = "demo",
    credits: int | None = 1000,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> str:
    """Run ``examples/<name>.py`` as ``python -m examples.<name>``; return its stdout.

    Args:
        name: The module name under ``examples/``, e.g. ``"streaming_01_basic"``.
        inputs: Lines to type, one each time the program shows ``prompt`` and waits.
        prompt: The text the program prints when it waits for a line.
        gateway: ``"demo"`` (port 8003) or ``"faults"`` (port 8004).
        credits: The demo team's balance before the run (``None``: leave it).
        timeout: Seconds before the run is killed and reported as failed.
    """
    if _failures and os.environ.get(FAIL_FAST_ENV) == "1":
        raise ExampleFailed(f"not run: {_failures[0]} failed first ({FAIL_FAST_ENV}=1)")
    try:
        return _run_example(name, inputs, prompt, gateway, credits, timeout)
    except Exception:
        _failures.append(name)
        raise


def _run_example(
    name: str,
    inputs: Sequence[str],
    prompt: str,
    gateway: str,
    credits: int | None,
    timeout: float,
) -> str:
    path = REPO_ROOT / "examples" / f"{name}.py"
    if not path.is_file():
        raise ExampleFailed(f"{path} does not exist")
    target = GATEWAYS.get(gateway)
    if credits is not None:
        target.set_credits(credits)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        # The operator examples authenticate as the admin; `saasllm-server demo` prints it.
        "SAASLLM_ADMIN_KEY": target.admin_key,
    }
    command = [sys.executable, "-m", f"examples.{name}"]
    with tempfile.TemporaryDirectory(prefix=f"saasllm-example-{name}-") as cwd:
        started = time.monotonic()
        if inputs:
            returncode, stdout, stderr = _run_scripted(
                command, env, Path(cwd), list(inputs), prompt, timeout
            )
        else:
            returncode, stdout, stderr = _run_plain(command, env, Path(cwd), timeout)
        elapsed = time.monotonic() - started
    log.info("ran examples.%s in %.1f s (exit %d)", name, elapsed, returncode)
    if returncode != 0:
        raise ExampleFailed(
            f"`python -m examples.{name}` exited with {returncode} after {elapsed:.1f} s\n"
            f"--- stdout (tail) ---\n{stdout[-2000:]}\n--- stderr (tail) ---\n{stderr[-4000:]}"
        )
    if not stdout.strip():
        raise ExampleFailed(f"`python -m examples.{name}` printed nothing\n{stderr[-2000:]}")
    return stdout


def _run_plain(
    command: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        err = (exc.stderr or b"").decode("utf-8", "replace")
        raise ExampleFailed(
            f"`{' '.join(command[1:])}` still running after {timeout:g} s\n"
            f"--- stdout (tail) ---\n{out[-2000:]}\n--- stderr (tail) ---\n{err[-2000:]}"
        ) from exc
    return (
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def _run_scripted(
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    inputs: list[str],
    prompt: str,
    timeout: float,
) -> tuple[int, str, str]:
    """Type ``inputs`` one line at a time, each when the output ends with ``prompt``."""
    if not prompt:
        raise ValueError("scripted input needs the prompt the program waits at")
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=env,
            cwd=cwd,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        transcript = ""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    process.kill()
                    process.wait()
                    raise ExampleFailed(
                        f"`{' '.join(command[1:])}` still running after {timeout:g} s; "
                        f"transcript so far:\n{transcript[-2000:]}"
                    )
                if not selector.select(min(remaining, 1.0)):
                    continue
                data = os.read(process.stdout.fileno(), 65536)
                if not data:
                    break
                transcript += decoder.decode(data)
                if transcript.endswith(prompt) and not process.stdin.closed:
                    if inputs:
                        line = inputs.pop(0)
                        transcript += line + "\n"
                        process.stdin.write((line + "\n").encode())
                        process.stdin.flush()
                    if not inputs:
                        process.stdin.close()
        returncode = process.wait()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode("utf-8", "replace")
    if inputs:
        raise ExampleFailed(f"the program ended with {len(inputs)} scripted line(s) unused")
    return returncode, transcript, stderr


def example_output(
    name: str,
    *,
    inputs: Sequence[str] = (),
    prompt: str = "",
    gateway: str = "demo",
    credits: int | None = 1000,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> str:
    """Markdown for a page: the example's real output in a titled block.

    The block sits in ``<div class="example-output" data-example="<name>">`` so a
    browser test can find every output on a page.
    """
    output = run_example(
        name, inputs=inputs, prompt=prompt, gateway=gateway, credits=credits, timeout=timeout
    )
    upstream = GATEWAYS.get(gateway).upstream_label
    title = f"Output of python -m examples.{name} at build time, on {upstream}"
    body = "\n".join(line.rstrip() for line in output.rstrip().splitlines())
    return (
        f'<div class="example-output" data-example="{name}" markdown>\n\n'
        f'{FENCE}text title="{title}"\n{body}\n{FENCE}\n\n</div>\n'
    )


def faults_gateway_config() -> str:
    """Markdown: the YAML config the faults gateway of this build was started with."""
    import yaml

    text = yaml.safe_dump(GATEWAYS.faults_config, sort_keys=False).rstrip()
    return f'{FENCE}yaml title="The faults gateway\'s config (this build)"\n{text}\n{FENCE}\n'
