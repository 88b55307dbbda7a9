"""A real gateway in its own process: ``saasllm-server serve`` under uvicorn, on a real port."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saasllm_testing.gateway_command import serve_command
from saasllm_testing.ports import free_port, port_in_use
from saasllm_testing.supervisor import ChildProcess, HttpOk

ADMIN_KEY = "sk-admin-test-" + "x" * 16
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0


class GatewayPortTaken(RuntimeError):
    """The fixed port a test asked for is already served, most likely by a demo gateway."""


def test_config(fake_base_url: str, local_base_url: str | None) -> dict[str, Any]:
    """Deployments for every fault the fake upstream can play, and the groups tests use."""

    def fake(name: str, model: str) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{model}",
                "api_base": fake_base_url,
                "api_key": "sk-fake-upstream",
            },
            "model_info": {"id": f"{name}-1"},
        }

    model_list = [
        fake("fake", "fake"),
        fake("fake-slow200", "fake-d200"),
        fake("fake-priced", "fake"),
        fake("fake-429", "fake-429-r1"),
        fake("fake-500", "fake-500"),
        fake("fake-cut5", "fake-cut5"),
        fake("fake-stall", "fake-stall"),
        fake("fake-hang", "fake-hang"),
        fake("fake-flood", "fake-t200000"),
    ]
    model_list[2]["litellm_params"].update(
        {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}
    )
    groups = [
        {"name": "default", "members": ["fake"]},
        {"name": "priced", "members": ["fake-priced"]},
        {"name": "slow", "members": ["fake-slow200"]},
        {"name": "fallback", "members": ["fake-500", "fake"]},
        {"name": "ratelimited", "members": ["fake-429"]},
        {"name": "cut", "members": ["fake-cut5"]},
        {"name": "stall", "members": ["fake-stall"]},
        {"name": "hang", "members": ["fake-hang"]},
        {"name": "flood", "members": ["fake-flood"]},
        {"name": "secret", "members": ["fake"]},
    ]
    if local_base_url:
        model_list.append(
            {
                "model_name": "smollm2",
                "litellm_params": {
                    "model": "openai/smollm2-135m",
                    "api_base": local_base_url,
                    "api_key": "sk-local",
                },
                "model_info": {"id": "smollm2-1"},
            }
        )
        groups.append({"name": "local", "members": ["smollm2"]})
    usable = [g["name"] for g in groups if g["name"] != "secret"]
    return {
        "model_list": model_list,
        "router_settings": {"allowed_fails": 0, "cooldown_time": 1},
        "model_groups": groups,
        "organizations": [
            {
                "id": "acme",
                "name": "Acme",
                "teams": [
                    {
                        "id": "acme-corp",
                        "credits": 1000,
                        "default_model_group": "default",
                        "model_groups": usable,
                        "keys": [{"key": "sk-your-key", "id": "key_demo"}],
                    }
                ],
            }
        ],
    }


@dataclass
class GatewayProcess:
    """``saasllm-server serve`` in a child process, ready once ``/health`` answers 200."""

    url: str
    database_url: str
    child: ChildProcess

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The gateway's process, for a test that must kill it the hard way."""
        return self.child.process

    @property
    def log_path(self) -> Path:
        return self.child.log_path

    @classmethod
    def start(
        cls,
        *,
        config: dict[str, Any],
        database_url: str,
        workdir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> GatewayProcess:
        if port is not None and port_in_use(port):
            raise GatewayPortTaken(
                f"port {port} is taken: is another gateway (a demo?) listening on it? "
                "Stop it before running the tests."
            )
        port = port or free_port()
        config_path = workdir / f"gateway-{port}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        url = f"http://127.0.0.1:{port}"
        child = ChildProcess.start_sync(
            f"the gateway on :{port}",
            serve_command(port, config_path, database_url),
            ready=HttpOk(f"{url}/health"),
            ready_timeout=READY_TIMEOUT_S,
            log_path=workdir / f"gateway-{port}.log",
            env={
                "SAASLLM_ADMIN_KEY": ADMIN_KEY,
                "SAASLLM_FIRST_CHUNK_TIMEOUT_S": "5",
                "SAASLLM_UPSTREAM_READ_TIMEOUT_S": "4",
                "SAASLLM_HEARTBEAT_INTERVAL_S": "1",
                "SAASLLM_SEND_TIMEOUT_S": "2",
                "SAASLLM_LOG_LEVEL": "warning",
                **(env or {}),
            },
        )
        return cls(url, database_url, child)

    def stop(self) -> None:
        self.child.stop_sync(grace=STOP_GRACE_S)
