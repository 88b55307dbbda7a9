"""Python SDK for the saasllm gateway: jobs, chat calls and SSE streams, async and sync."""

from saasllm import _errors
from saasllm._accumulate import ChatAccumulator
from saasllm._admin import SaaSLLMAdmin
from saasllm._client import SaaSLLMClient
from saasllm._compat import JobId, Message
from saasllm._errors import *  # noqa: F403 (every exception class, listed in _errors.__all__)
from saasllm._requests import ChatOptions
from saasllm._sse import ServerSentEvent, SSEDecoder
from saasllm._stream import AsyncChatStream
from saasllm._sync_admin import SyncSaaSLLMAdmin
from saasllm._sync_client import SyncSaaSLLMClient
from saasllm._sync_stream import ChatStream
from saasllm._version import __version__
from saasllm_schema import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    CostSummary,
    Job,
    JobCreated,
    JobResult,
    ResponseMessage,
    Usage,
)

# The original client's class name (see saasllm._compat for the other old names).
SaasLiteLLMClient = SaaSLLMClient
SyncSaasLiteLLMClient = SyncSaaSLLMClient

__all__ = [
    "AsyncChatStream",
    "ChatAccumulator",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "ChatOptions",
    "ChatStream",
    "CostSummary",
    "Job",
    "JobCreated",
    "JobId",
    "JobResult",
    "Message",
    "ResponseMessage",
    "SSEDecoder",
    "SaaSLLMAdmin",
    "SaaSLLMClient",
    "SaasLiteLLMClient",
    "ServerSentEvent",
    "SyncSaaSLLMAdmin",
    "SyncSaaSLLMClient",
    "SyncSaasLiteLLMClient",
    "Usage",
    "__version__",
]
__all__ += _errors.__all__
