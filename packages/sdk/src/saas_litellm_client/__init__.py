"""Import path used by the original SaaS LiteLLM docs; everything lives in :mod:`saasllm`."""

from saasllm import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InsufficientCreditsError,
    Message,
    RateLimitError,
    SaasLiteLLMClient,
    SaaSLLMClient,
    SaaSLLMError,
    StreamError,
    SyncSaasLiteLLMClient,
    SyncSaaSLLMClient,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "InsufficientCreditsError",
    "Message",
    "RateLimitError",
    "SaaSLLMClient",
    "SaaSLLMError",
    "SaasLiteLLMClient",
    "StreamError",
    "SyncSaaSLLMClient",
    "SyncSaasLiteLLMClient",
]
