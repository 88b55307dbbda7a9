"""Pins the SDK's public surface so a change to it is a deliberate, reviewed change."""

from __future__ import annotations

import saasllm

EXPECTED = {
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatAccumulator",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "ChatStream",
    "ConflictError",
    "CostSummary",
    "InsufficientCreditsError",
    "InternalServerError",
    "Job",
    "JobAlreadyCompletedError",
    "JobCreated",
    "JobId",
    "JobResult",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "ResponseMessage",
    "SSEDecoder",
    "SaaSLLMAdmin",
    "SaaSLLMClient",
    "SaaSLLMError",
    "SaasLiteLLMClient",
    "ServerSentEvent",
    "ServiceUnavailableError",
    "StreamAuthenticationError",
    "StreamBadRequestError",
    "StreamConflictError",
    "StreamError",
    "StreamInsufficientCreditsError",
    "StreamInternalServerError",
    "StreamNotFoundError",
    "StreamPermissionDeniedError",
    "StreamRateLimitError",
    "StreamRequestTooLargeError",
    "StreamServiceUnavailableError",
    "StreamTruncatedError",
    "StreamUpstreamError",
    "StreamUpstreamTimeoutError",
    "SyncSaaSLLMAdmin",
    "SyncSaaSLLMClient",
    "SyncSaasLiteLLMClient",
    "TeamSuspendedError",
    "UnprocessableEntityError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "Usage",
    "__version__",
}


def test_public_names() -> None:
    assert set(saasllm.__all__) == EXPECTED
    for name in saasllm.__all__:
        assert hasattr(saasllm, name), name


def test_no_server_or_litellm_imports_in_sdk_source() -> None:
    from pathlib import Path

    source = Path(saasllm.__file__).parent
    for path in source.rglob("*.py"):
        text = path.read_text()
        for banned in ("saasllm_server", "litellm", "fastapi"):
            assert f"import {banned}" not in text, (path, banned)
            assert f"from {banned}" not in text, (path, banned)
