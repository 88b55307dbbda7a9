"""The gateways the executed examples talk to, started once per MkDocs run.

``demo``
    ``python -m saasllm_server.cli demo --port 8003``: exactly what a reader runs
    (team ``acme-corp``, key ``sk-your-key``, 1000 credits, a fresh SQLite file),
    on the real local model. ``SAASLLM_DOCS_UPSTREAM=fake`` adds ``--fake`` (the
    deterministic upstream) for quick local iteration and for the test that
    builds a deliberately broken copy; every rendered output says which
    upstream produced it.
``faults``
    ``saasllm-server serve`` on port 8004 with a config whose model groups point
    at the fake upstream's fault models (rate limited, failing, cut, stalled),
    for the pages that show error handling. Real behaviour needs a real fault,
    and the local model does not fail on demand.

Both get a random admin key, so the runner can set the demo team's balance
before each example. Every child runs under ``saasllm_testing.supervisor``: its
own session, SIGTERM when the MkDocs process dies, a log whose tail explains a
failed start, so an interrupted build leaves no gateway or model behind.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from saasllm_testing.fake import FakeUpstreamProcess
from saasllm_testing.ports import port_in_use
from saasllm_testing.supervisor import ChildProcess, ChildStartError, HttpOk

DEMO_PORT = 8003
FAULTS_PORT = 8004
TEAM_ID = "acme-corp"
TEAM_KEY = "sk-your-key"
UPSTREAM_ENV = "SAASLLM_DOCS_UPSTREAM"
_READY_TIMEOUT_S = 120.0
_FAKE_READY_TIMEOUT_S = 30.0
_STOP_GRACE_S = 15.0
"""The demo stops its model on SIGTERM before it exits; give it time to."""


class GatewayStartError(RuntimeError):
    """A gateway (or its upstream) did not come up; the message quotes its log."""


def upstream_mode() -> str:
    """``"local"`` (the real local model, the default) or ``"fake"``."""
    mode = os.environ.get(UPSTREAM_ENV, "local").strip().lower() or "local"
    if mode not in {"local", "fake"}:
        raise GatewayStartError(f"{UPSTREAM_ENV} must be 'local' or 'fake', not {mode!r}")
    return mode


def _start_gateway(
    name: str,
    command: list[str],
    *,
    port: int,
    admin_key: str,
    log_path: Path,
    cwd: Path,
    env: Mapping[str, str],
) -> ChildProcess:
    """Start a gateway and prove that the one answering on ``port`` is ours.

    Another gateway may have taken the port since it was checked; only ours
    knows ``admin_key``.
    """
    url = f"http://127.0.0.1:{port}"
    try:
        child = ChildProcess.start_sync(
            name,
            command,
            ready=HttpOk(f"{url}/health"),
            ready_timeout=_READY_TIMEOUT_S,
            log_path=log_path,
            env=env,
            cwd=cwd,
        )
    except ChildStartError as exc:
        raise GatewayStartError(str(exc)) from exc
    if not _answers_to(url, admin_key):
        tail = child.log_tail()
        child.stop_sync(grace=_STOP_GRACE_S)
        raise GatewayStartError(f"another process answers on {url}, not {name}:\n{tail}")
    return child


def _answers_to(url: str, admin_key: str) -> bool:
    response = httpx.get(
        f"{url}/admin/model-groups",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=5,
    )
    return response.status_code == 200


@dataclass
class Gateway:
    """A running gateway: where it listens and how to act on its demo team."""

    name: str
    url: str
    admin_key: str
    upstream_label: str

    def set_credits(self, credits: int) -> None:
        """Top up or draw down the demo team so its balance is exactly ``credits``."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        team_url = f"{self.url}/admin/teams/{TEAM_ID}"
        with httpx.Client(timeout=10, headers=headers) as client:
            response = client.get(team_url)
            response.raise_for_status()
            current = int(response.json()["credits_remaining"])
            if current == credits:
                return
            response = client.post(
                f"{team_url}/credits",
                json={"amount": credits - current, "reason": "docs build: reset before example"},
            )
            response.raise_for_status()
            after = int(response.json()["credits_remaining"])
        if after != credits:
            raise RuntimeError(f"{self.name}: balance is {after} after reset, wanted {credits}")


class Gateways:
    """The docs build's gateways: started together, stopped together (idempotent)."""

    def __init__(self) -> None:
        self._children: list[ChildProcess | FakeUpstreamProcess] = []
        self._gateways: dict[str, Gateway] = {}
        self._workdir: Path | None = None
        self._faults_config: dict[str, Any] | None = None
        atexit.register(self.stop)

    @property
    def running(self) -> bool:
        return bool(self._gateways)

    def get(self, name: str) -> Gateway:
        try:
            return self._gateways[name]
        except KeyError:
            raise RuntimeError(
                f"the {name!r} gateway is not running: pages with executed examples must be "
                "built by MkDocs with the saasllm_hooks hook (mkdocs.yml `hooks:`)"
            ) from None

    @property
    def faults_config(self) -> dict[str, Any]:
        if self._faults_config is None:
            raise RuntimeError("the faults gateway is not running")
        return self._faults_config

    def start(self, log: Callable[[str], None] = lambda message: None) -> None:
        if self.running:
            return
        busy = [port for port in (DEMO_PORT, FAULTS_PORT) if port_in_use(port)]
        if busy:
            raise GatewayStartError(
                f"port(s) {busy} already in use on 127.0.0.1: the docs build runs its own "
                "demo gateway there (is `./dev demo` or a test gateway running? stop it first)"
            )
        self._workdir = Path(tempfile.mkdtemp(prefix="saasllm-docs-"))
        self._stop_on_signals()
        try:
            self._start_demo(log)
            self._start_faults(log)
        except BaseException:
            self.stop()
            raise

    def _start_demo(self, log: Callable[[str], None]) -> None:
        assert self._workdir is not None
        mode = upstream_mode()
        admin_key = "sk-admin-docs-" + secrets.token_urlsafe(16)
        demo_dir = self._workdir / "demo"
        demo_dir.mkdir()
        command = [sys.executable, "-m", "saasllm_server.cli", "demo", "--port", str(DEMO_PORT)]
        # A fresh database, as always, but inside our work directory so it is cleaned up.
        command += ["--db", str(demo_dir / "demo.db")]
        if mode == "fake":
            command.append("--fake")
        log_path = self._workdir / "demo.log"
        log(f"starting {' '.join(command[1:])} (log: {log_path})")
        started = time.monotonic()
        child = _start_gateway(
            "the demo gateway",
            command,
            port=DEMO_PORT,
            admin_key=admin_key,
            log_path=log_path,
            cwd=demo_dir,
            env={"SAASLLM_ADMIN_KEY": admin_key, "SAASLLM_LOG_LEVEL": "warning"},
        )
        self._children.append(child)
        log(f"demo gateway healthy after {time.monotonic() - started:.1f} s")
        label = (
            "the fake upstream (deterministic)"
            if mode == "fake"
            else "SmolLM2-135M-Instruct, the local model"
        )
        self._gateways["demo"] = Gateway("demo", f"http://127.0.0.1:{DEMO_PORT}", admin_key, label)

    def _start_faults(self, log: Callable[[str], None]) -> None:
        assert self._workdir is not None
        try:
            fake = FakeUpstreamProcess.start_sync(
                delay_ms=20,
                ready_timeout=_FAKE_READY_TIMEOUT_S,
                log_path=self._workdir / "fake-upstream.log",
            )
        except ChildStartError as exc:
            raise GatewayStartError(str(exc)) from exc
        self._children.append(fake)
        self._faults_config = faults_config(fake.base_url)
        config_path = self._workdir / "faults-gateway.yaml"
        config_path.write_text(yaml.safe_dump(self._faults_config, sort_keys=False))
        admin_key = "sk-admin-docs-" + secrets.token_urlsafe(16)
        log_path = self._workdir / "faults-gateway.log"
        log(f"starting the faults gateway on :{FAULTS_PORT} (log: {log_path})")
        gateway = _start_gateway(
            "the faults gateway",
            [
                sys.executable,
                "-m",
                "saasllm_server.cli",
                "serve",
                "--port",
                str(FAULTS_PORT),
                "--config",
                str(config_path),
                "--database-url",
                f"sqlite+aiosqlite:///{self._workdir / 'faults.db'}",
            ],
            port=FAULTS_PORT,
            admin_key=admin_key,
            log_path=log_path,
            cwd=self._workdir,
            env={"SAASLLM_ADMIN_KEY": admin_key, "SAASLLM_LOG_LEVEL": "warning"},
        )
        self._children.append(gateway)
        self._gateways["faults"] = Gateway(
            "faults",
            f"http://127.0.0.1:{FAULTS_PORT}",
            admin_key,
            "the fake upstream's fault models",
        )

    def stop(self) -> None:
        while self._children:
            self._children.pop().stop_sync(grace=_STOP_GRACE_S)
        self._gateways.clear()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _stop_on_signals(self) -> None:
        """Stop the children on SIGTERM/SIGHUP too, then die of the signal as before.

        Python's default action for these signals skips ``finally`` and ``atexit``;
        a build killed by a CI timeout would otherwise leave the demo's model running.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(signum)

            def handler(received: int, frame: Any, previous: Any = previous) -> None:
                self.stop()
                signal.signal(received, previous if callable(previous) else signal.SIG_DFL)
                signal.raise_signal(received)

            signal.signal(signum, handler)


def faults_config(fake_base_url: str) -> dict[str, Any]:
    """The faults gateway's config: one model group per failure the fake upstream can play."""

    def deployment(name: str, fake_model: str) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{fake_model}",
                "api_base": fake_base_url,
                "api_key": "sk-fake-upstream",
            },
        }

    groups = {
        "default": ["healthy"],
        "rate-limited": ["rate-limited"],
        "flaky-primary": ["broken", "healthy"],
        "cut-mid-stream": ["cut-after-5"],
        "stalls": ["stalls"],
    }
    return {
        "model_list": [
            deployment("healthy", "fake"),
            deployment("rate-limited", "fake-429-r2"),
            deployment("broken", "fake-500"),
            deployment("cut-after-5", "fake-cut5"),
            deployment("stalls", "fake-stall"),
        ],
        "router_settings": {"allowed_fails": 0, "cooldown_time": 1},
        "model_groups": [{"name": name, "members": members} for name, members in groups.items()],
        "organizations": [
            {
                "id": "acme",
                "name": "Acme Inc.",
                "teams": [
                    {
                        "id": TEAM_ID,
                        "name": "Acme Corp",
                        "credits": 1000,
                        "default_model_group": "default",
                        "model_groups": list(groups),
                        "keys": [{"key": TEAM_KEY, "id": "key_demo", "name": "demo key"}],
                    }
                ],
            }
        ],
    }


GATEWAYS = Gateways()
"""The one set of gateways of this MkDocs process."""
