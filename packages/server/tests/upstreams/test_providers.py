"""Which deployments are relayed raw: decided once per deployment, from litellm's provider."""

from __future__ import annotations

import pytest

from saasllm_server.upstreams.config import DeploymentConfig
from saasllm_server.upstreams.router import build_deployment


@pytest.mark.parametrize(
    ("model", "api_base", "mode"),
    [
        ("openai/gpt-4o", None, "raw"),
        ("openai/smollm2-135m", "http://127.0.0.1:9/v1", "raw"),
        ("hosted_vllm/qwen", "http://vllm:8000/v1", "raw"),
        ("groq/llama3-8b-8192", None, "raw"),
        ("anthropic/claude-3-5-sonnet-20240620", None, "litellm"),
        ("gemini/gemini-1.5-pro", None, "litellm"),
        ("ollama_chat/llama3", None, "litellm"),
        ("mistral/mistral-large-latest", None, "litellm"),
    ],
)
def test_relay_mode_per_provider(model: str, api_base: str | None, mode: str) -> None:
    params = {"model": model, **({"api_base": api_base} if api_base else {})}
    deployment = build_deployment(DeploymentConfig(model_name="m", litellm_params=params), "m-1")
    assert deployment.mode == mode


def test_known_models_are_priced_from_litellms_map_and_custom_prices_win() -> None:
    known = build_deployment(
        DeploymentConfig(model_name="m", litellm_params={"model": "openai/gpt-4o"}), "m-1"
    )
    assert known.priced
    assert known.cost_usd(1000, 500) == pytest.approx(0.0075)
    custom = build_deployment(
        DeploymentConfig(
            model_name="m",
            litellm_params={
                "model": "openai/local",
                "api_base": "http://x/v1",
                "input_cost_per_token": 1e-6,
                "output_cost_per_token": 2e-6,
            },
        ),
        "m-2",
    )
    assert custom.cost_usd(1000, 500) == pytest.approx(0.002)
    unknown = build_deployment(
        DeploymentConfig(
            model_name="m", litellm_params={"model": "openai/local", "api_base": "http://x/v1"}
        ),
        "m-3",
    )
    assert not unknown.priced
    assert unknown.cost_usd(1000, 500) == 0.0
