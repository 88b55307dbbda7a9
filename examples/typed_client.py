"""The import path the SaaS LiteLLM docs use (``from examples.typed_client import ...``).

The client itself is the ``saasllm`` SDK; this module only re-exports it.
"""

from saasllm import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncChatStream,
    ChatCompletion,
    ChatCompletionChunk,
    InsufficientCreditsError,
    JobResult,
    Message,
    RateLimitError,
    SaasLiteLLMClient,
    SaaSLLMClient,
    SaaSLLMError,
    StreamError,
    SyncSaaSLLMClient,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "ChatCompletion",
    "ChatCompletionChunk",
    "InsufficientCreditsError",
    "JobResult",
    "Message",
    "RateLimitError",
    "SaaSLLMClient",
    "SaaSLLMError",
    "SaasLiteLLMClient",
    "StreamError",
    "SyncSaaSLLMClient",
]
