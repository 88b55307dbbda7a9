"""The demo configuration: team ``acme-corp`` with key ``sk-your-key`` and 1000 credits,
whose default model group runs on the real local model (or the fake upstream).

This is what makes the seed page's examples run exactly as written.

Both upstreams are test doubles from the ``saasllm-testing`` distribution, which the
production gateway does not depend on: they are imported here only when the demo
starts, and a missing package becomes a message naming the extra to install.
"""

from __future__ import annotations

from typing import Final, Protocol

from saasllm_schema import ModelGroupSpec
from saasllm_server.upstreams.config import (
    DeploymentConfig,
    GatewayConfig,
    KeySpec,
    OrganizationSpec,
    RouterSettings,
    TeamSpec,
)

DEMO_TEAM = "acme-corp"
DEMO_KEY = "sk-your-key"
DEMO_CREDITS = 1000
DEMO_GROUP = "default"
DEMO_EXTRA: Final = "saasllm-server[demo]"
_TESTING_PACKAGE: Final = "saasllm_testing"


class DemoUpstream(Protocol):
    """What the demo needs of its upstream, the fake or the local model alike."""

    @property
    def base_url(self) -> str: ...

    @property
    def alias(self) -> str: ...

    def stop_sync(self, grace: float = ...) -> int: ...


class DemoUnavailable(RuntimeError):
    """The demo's upstream cannot run here; the message says what to install."""


class DemoUpstreamFailed(RuntimeError):
    """The demo's upstream was installed but did not start; the message quotes its log."""


def start_demo_upstream(*, fake: bool, threads: int) -> DemoUpstream:
    """Start the fake upstream or the local model (with ``threads``) and wait until it serves."""
    try:
        return _start_fake() if fake else _start_local_model(threads)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing != _TESTING_PACKAGE and not missing.startswith(f"{_TESTING_PACKAGE}."):
            raise
        raise DemoUnavailable(
            "the demo runs on the saasllm-testing package (the fake upstream and the "
            f"local-model launcher), which is not installed: pip install '{DEMO_EXTRA}'"
        ) from exc


def _start_fake() -> DemoUpstream:
    from saasllm_testing.fake import FakeUpstreamProcess
    from saasllm_testing.supervisor import ChildStartError

    try:
        return FakeUpstreamProcess.start_sync()
    except ChildStartError as exc:
        raise DemoUpstreamFailed(str(exc)) from exc


def _start_local_model(threads: int) -> DemoUpstream:
    from saasllm_testing.local_model import LocalModelProcess, LocalModelUnavailable
    from saasllm_testing.supervisor import ChildStartError

    try:
        return LocalModelProcess.start_sync(threads=threads)
    except LocalModelUnavailable as exc:
        raise DemoUnavailable(f"{exc}\n(or run `saasllm-server demo --fake`)") from exc
    except ChildStartError as exc:
        raise DemoUpstreamFailed(str(exc)) from exc


def demo_config(upstream_base_url: str, upstream_model: str, *, member: str) -> GatewayConfig:
    """One deployment named ``member`` on the upstream, as the demo team's default group."""
    return GatewayConfig(
        model_list=[
            DeploymentConfig(
                model_name=member,
                litellm_params={
                    "model": f"openai/{upstream_model}",
                    "api_base": upstream_base_url,
                    "api_key": "sk-local-upstream",
                },
                model_info={"id": f"{member}-1"},
            )
        ],
        router_settings=RouterSettings(),
        model_groups=[ModelGroupSpec(name=DEMO_GROUP, members=[member])],
        organizations=[
            OrganizationSpec(
                id="acme",
                name="Acme Inc.",
                teams=[
                    TeamSpec(
                        id=DEMO_TEAM,
                        name="Acme Corp",
                        credits=DEMO_CREDITS,
                        default_model_group=DEMO_GROUP,
                        model_groups=[DEMO_GROUP],
                        keys=[KeySpec(key=DEMO_KEY, id="key_demo", name="demo key")],
                    )
                ],
            )
        ],
    )
