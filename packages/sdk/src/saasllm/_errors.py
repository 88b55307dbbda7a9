"""Exceptions raised by the SDK, and the choice of class for an error response.

::

    SaaSLLMError(Exception)
    ├── APIStatusError(SaaSLLMError, httpx.HTTPStatusError)   .status_code .error_type ...
    │   ├── BadRequestError                400
    │   ├── AuthenticationError            401
    │   ├── PermissionDeniedError          403
    │   │   ├── InsufficientCreditsError   403 insufficient_credits
    │   │   └── TeamSuspendedError         403 team_suspended
    │   ├── NotFoundError                  404
    │   ├── ConflictError                  409 (JobAlreadyCompletedError)
    │   ├── RequestTooLargeError           413
    │   ├── UnprocessableEntityError       422
    │   ├── RateLimitError                 429 .retry_after
    │   ├── InternalServerError            >= 500
    │   │   ├── UpstreamError              502
    │   │   ├── ServiceUnavailableError    503
    │   │   └── UpstreamTimeoutError       504
    │   └── StreamError                    an ``event: error`` inside a 200 stream
    │       └── Stream<X>Error             both StreamError and <X>Error, e.g. StreamUpstreamError
    ├── APIConnectionError
    │   ├── APITimeoutError(APIConnectionError, TimeoutError)
    │   └── StreamTruncatedError           the body ended without ``data: [DONE]``
    └── APIResponseValidationError(SaaSLLMError, ValueError)

Status errors subclass ``httpx.HTTPStatusError`` and timeouts subclass the builtin
``TimeoutError`` (which is ``asyncio.TimeoutError`` since 3.11), so code written
for a bare httpx client (``except HTTPStatusError as e: e.response.status_code``)
or around ``asyncio.timeout`` keeps catching what it caught before.

A failure inside a stream raises the same class the equivalent HTTP status would
(mixed with :class:`StreamError`), so retry logic keyed on classes treats an
upstream failure alike whether it came before or after the first byte.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from saasllm_schema import ErrorCode, ErrorType

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "JobAlreadyCompletedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "SaaSLLMError",
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
    "TeamSuspendedError",
    "UnprocessableEntityError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "error_class_for",
    "parse_error_body",
    "status_error_from_response",
    "stream_error_class_for",
    "stream_error_from_data",
    "wrap_transport_error",
]


class SaaSLLMError(Exception):
    """Base of every exception the SDK raises on purpose."""


class APIStatusError(SaaSLLMError, httpx.HTTPStatusError):
    """The gateway answered with an error status (or an error event inside a stream).

    ``response`` is the real HTTP response with its body already read, so
    ``e.response.json()`` works; ``status_code`` is that response's status, except
    for :class:`StreamError` where it is the status the same failure would have
    had before the stream started.
    """

    status_code: int
    error_type: str | None
    error_code: str | None
    message: str
    param: str | None
    body: Any
    retry_after: float | None
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any = None,
        status_code: int | None = None,
        error_type: str | None = None,
        error_code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        httpx.HTTPStatusError.__init__(self, message, request=response.request, response=response)
        self.status_code = response.status_code if status_code is None else status_code
        self.error_type = error_type
        self.error_code = error_code
        self.message = message
        self.param = param
        self.body = body
        self.retry_after = retry_after
        self.request_id = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but the team may not do this (credits, suspension, access)."""


class InsufficientCreditsError(PermissionDeniedError):
    pass


class TeamSuspendedError(PermissionDeniedError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    """409: the job was already completed; retrying cannot help, so it never is."""


JobAlreadyCompletedError = ConflictError


class RequestTooLargeError(APIStatusError):
    pass


class UnprocessableEntityError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    """429 after the retries ran out, or with a ``Retry-After`` beyond the SDK's cap."""


class InternalServerError(APIStatusError):
    pass


class UpstreamError(InternalServerError):
    pass


class ServiceUnavailableError(InternalServerError):
    pass


class UpstreamTimeoutError(InternalServerError):
    pass


class StreamError(APIStatusError):
    """An ``event: error`` after the stream had started.

    The HTTP status on the wire was 200, but code written against the documented API
    reads ``e.response.status_code`` to decide what happened; so ``response`` carries
    the status the same failure would have had before the stream started (502 for an
    upstream failure, 429 for a rate limit...), and ``stream_response`` is the real one.
    """

    stream_response: httpx.Response | None = None


class StreamBadRequestError(StreamError, BadRequestError):
    pass


class StreamAuthenticationError(StreamError, AuthenticationError):
    pass


class StreamPermissionDeniedError(StreamError, PermissionDeniedError):
    pass


class StreamInsufficientCreditsError(StreamError, InsufficientCreditsError):
    pass


class StreamNotFoundError(StreamError, NotFoundError):
    pass


class StreamConflictError(StreamError, ConflictError):
    pass


class StreamRequestTooLargeError(StreamError, RequestTooLargeError):
    pass


class StreamRateLimitError(StreamError, RateLimitError):
    pass


class StreamInternalServerError(StreamError, InternalServerError):
    pass


class StreamUpstreamError(StreamError, UpstreamError):
    pass


class StreamServiceUnavailableError(StreamError, ServiceUnavailableError):
    pass


class StreamUpstreamTimeoutError(StreamError, UpstreamTimeoutError):
    pass


class APIConnectionError(SaaSLLMError):
    """No usable HTTP response: connect failure, dropped connection, broken stream."""

    request: httpx.Request | None

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError, TimeoutError):
    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ):
        super().__init__(message, request=request)


class StreamTruncatedError(APIConnectionError):
    """The body ended without ``data: [DONE]``: the answer may be incomplete."""

    def __init__(
        self,
        message: str = "The stream ended before data: [DONE]; the answer may be incomplete.",
        *,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(SaaSLLMError, ValueError):
    """A success response whose body does not fit the expected shape."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response


# --- choosing a class -----------------------------------------------------------------

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: UpstreamTimeoutError,
}

# error.type -> (class outside a stream, class inside a stream, equivalent status)
_BY_TYPE: dict[str, tuple[type[APIStatusError], type[StreamError], int]] = {
    ErrorType.INVALID_REQUEST: (BadRequestError, StreamBadRequestError, 400),
    ErrorType.AUTHENTICATION: (AuthenticationError, StreamAuthenticationError, 401),
    ErrorType.PERMISSION: (PermissionDeniedError, StreamPermissionDeniedError, 403),
    ErrorType.INSUFFICIENT_CREDITS: (
        InsufficientCreditsError,
        StreamInsufficientCreditsError,
        403,
    ),
    ErrorType.NOT_FOUND: (NotFoundError, StreamNotFoundError, 404),
    ErrorType.CONFLICT: (ConflictError, StreamConflictError, 409),
    ErrorType.REQUEST_TOO_LARGE: (RequestTooLargeError, StreamRequestTooLargeError, 413),
    ErrorType.RATE_LIMIT: (RateLimitError, StreamRateLimitError, 429),
    ErrorType.INTERNAL: (InternalServerError, StreamInternalServerError, 500),
    ErrorType.UPSTREAM: (UpstreamError, StreamUpstreamError, 502),
    ErrorType.UNAVAILABLE: (ServiceUnavailableError, StreamServiceUnavailableError, 503),
    ErrorType.UPSTREAM_TIMEOUT: (UpstreamTimeoutError, StreamUpstreamTimeoutError, 504),
}


def error_class_for(
    status: int, error_type: str | None = None, error_code: str | None = None
) -> type[APIStatusError]:
    """The class for an HTTP error response: the status decides, ``type``/``code`` refine.

    The status wins over ``type`` so ``except`` clauses written against statuses
    stay right even if a server sends an unexpected type.
    """
    if status == 403:
        if ErrorCode.INSUFFICIENT_CREDITS in (error_code, error_type):
            return InsufficientCreditsError
        if error_code == ErrorCode.TEAM_SUSPENDED:
            return TeamSuspendedError
        return PermissionDeniedError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return InternalServerError
    return APIStatusError


def stream_error_class_for(
    error_type: str | None, error_code: str | None = None
) -> tuple[type[StreamError], int]:
    """The class for an in-stream error event and the HTTP status it stands for."""
    if error_code == ErrorCode.INSUFFICIENT_CREDITS:
        return StreamInsufficientCreditsError, 403
    if error_type is not None and error_type in _BY_TYPE:
        _, cls, status = _BY_TYPE[error_type]
        return cls, status
    return StreamError, 500


def parse_error_body(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """``(type, code, message, param)`` from any error body, ours or someone else's.

    Ours is ``{"error": {"type", "code", "message"}}``; a bare ``{"detail": ...}``
    (FastAPI's default) or ``{"error": "text"}`` still yields a message.
    """
    if not isinstance(body, dict):
        return None, None, (body.strip() or None) if isinstance(body, str) else None, None
    error = body.get("error")
    if isinstance(error, dict):
        return (
            _str_or_none(error.get("type")),
            _str_or_none(error.get("code")),
            _str_or_none(error.get("message")),
            _str_or_none(error.get("param")),
        )
    if isinstance(error, str):
        return None, None, error, None
    detail = body.get("detail")
    if detail is not None:
        return None, None, detail if isinstance(detail, str) else str(detail), None
    message = body.get("message")
    return None, None, _str_or_none(message), None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def status_error_from_response(
    response: httpx.Response, *, retry_after: float | None = None
) -> APIStatusError:
    """Build the exception for an error response whose body has been read."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    error_type, error_code, message, param = parse_error_body(body)
    status = response.status_code
    cls = error_class_for(status, error_type, error_code)
    text = message or response.reason_phrase or "error"
    label = f" {error_code}" if error_code else ""
    return cls(
        f"HTTP {status}{label}: {text}",
        response=response,
        body=body,
        error_type=error_type,
        error_code=error_code,
        param=param,
        retry_after=retry_after,
    )


def stream_error_from_data(data: str, response: httpx.Response) -> StreamError:
    """Build the exception for an ``event: error`` (or a ``data: {"error": ...}``) payload."""
    try:
        body: Any = json.loads(data)
    except ValueError:
        body = data
    error_type, error_code, message, param = parse_error_body(body)
    cls, status = stream_error_class_for(error_type, error_code)
    label = f" {error_code}" if error_code else ""
    equivalent = httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=data.encode() if isinstance(data, str) else b"",
        request=response.request,
    )
    error = cls(
        f"Stream error{label}: {message or 'the stream failed'}",
        response=equivalent,
        body=body,
        status_code=status,
        error_type=error_type,
        error_code=error_code,
        param=param,
    )
    error.stream_response = response
    return error


def wrap_transport_error(exc: Exception, request: httpx.Request | None) -> APIConnectionError:
    """An httpx transport failure as the SDK's error; httpx timeouts become timeouts."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {exc!r}", request=request)
    return APIConnectionError(f"Connection error: {exc!r}", request=request)
