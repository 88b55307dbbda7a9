"""The demo configuration: team ``acme-corp`` with key ``sk-your-key`` and 1000 credits,
whose default model group runs on the real local model (or the fake upstream).

This is what makes the seed page's examples run exactly as written.
"""

from __future__ import annotations

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


def demo_config(upstream_base_url: str, upstream_model: str, *, member: str) -> GatewayConfig:
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
