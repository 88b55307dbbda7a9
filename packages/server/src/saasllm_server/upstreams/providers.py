"""Which deployments are relayed as raw bytes and which go through litellm's translation.

A provider is relayed raw only when litellm itself would send the OpenAI wire
format unchanged (or change only unsupported params or post-process the
response), as litellm 1.110's provider configs show (``test_providers.py`` pins
the list). Everything else pays litellm's per-chunk cost.
"""

from __future__ import annotations

from typing import Literal

RelayMode = Literal["raw", "litellm"]

# Chat config identical to OpenAI's, or overriding only parameter mapping.
RAW_SAFE_PROVIDERS: frozenset[str] = frozenset(
    {
        "openai",
        "custom_openai",
        "hosted_vllm",
        "lm_studio",
        "llamafile",
        "novita",
        "nscale",
        "together_ai",
        "cerebras",
        "deepinfra",
        "nvidia_nim",
        "sambanova",
        "baseten",
        "meta_llama",
        "nebius",
        "featherless_ai",
        "groq",
        "perplexity",
        "github",
        "friendliai",
        "lambda_ai",
        "hyperbolic",
    }
)


def relay_mode(provider: str, api_base: str | None) -> RelayMode:
    """Raw relay needs an OpenAI-wire provider and a base URL to send the bytes to."""
    if provider in RAW_SAFE_PROVIDERS and api_base:
        return "raw"
    return "litellm"
