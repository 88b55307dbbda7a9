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
    │   │   └── RequestHeadersTooLargeError 431
    │   ├── UnprocessableEntityError       422
    │   ├── RateLimitError                 429 .retry_after
    │   ├── InternalServerError            >= 500
    │   │   ├── UpstreamError              502
    │   │   ├── ServiceUnavailableError    503
    │   │   └── UpstreamTimeoutError       504
    │   └── StreamError                    an ``event: error`` inside a 200 stream
    │       └── Stream<X>Error             both StreamError and <X>Error, for each <X> above
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

The class is chosen from ``saasllm_schema.ERRORS``, the table the gateway builds
its error bodies from: an error event carries no status, so the table gives it
one; where one status covers several failures (403) the code picks the subclass.
The status on the wire always wins, so a proxy's or a foreign server's errors
still get the class their status names.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from saasllm._policy import parse_retry_after
from saasllm_schema import ERRORS, ErrorCode, ErrorType

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
    "RequestHeadersTooLargeError",
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
    "StreamRequestHeadersTooLargeError",
    "StreamRequestTooLargeError",
    "StreamServiceUnavailableError",
    "StreamTeamSuspendedError",
    "StreamTruncatedError",
    "StreamUnprocessableEntityError",
    "StreamUpstreamError",
    "StreamUpstreamTimeoutError",
    "TeamSuspendedError",
    "UnprocessableEntityError",
    "UpstreamError",
    "UpstreamTimeoutError",
]
"""The exception classes, all public (``saasllm`` re-exports exactly these)."""


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

    refines: ClassVar[tuple[str, ...]] = ()
    """Codes (or types) that pick this class among the classes of its status."""

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
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but the team may not do this (credits, suspension, access)."""

    status_code = 403


class InsufficientCreditsError(PermissionDeniedError):
    refines = (ErrorCode.INSUFFICIENT_CREDITS, ErrorType.INSUFFICIENT_CREDITS)


class TeamSuspendedError(PermissionDeniedError):
    refines = (ErrorCode.TEAM_SUSPENDED,)


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    """409: done already (the job completed, the name taken, the refund made); retrying
    cannot help, so it never is."""

    status_code = 409


JobAlreadyCompletedError = ConflictError


class RequestTooLargeError(APIStatusError):
    status_code = 413


class RequestHeadersTooLargeError(RequestTooLargeError):
    status_code = 431


class UnprocessableEntityError(APIStatusError):
    status_code = 422


class RateLimitError(APIStatusError):
    """429 after the retries ran out, or with a ``Retry-After`` beyond the SDK's cap."""

    status_code = 429


class InternalServerError(APIStatusError):
    """Any status from 500 up that has no class of its own."""

    status_code = 500


class UpstreamError(InternalServerError):
    status_code = 502


class ServiceUnavailableError(InternalServerError):
    status_code = 503


class UpstreamTimeoutError(InternalServerError):
    status_code = 504


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


class StreamTeamSuspendedError(StreamError, TeamSuspendedError):
    pass


class StreamNotFoundError(StreamError, NotFoundError):
    pass


class StreamConflictError(StreamError, ConflictError):
    pass


class StreamRequestTooLargeError(StreamError, RequestTooLargeError):
    pass


class StreamRequestHeadersTooLargeError(StreamError, RequestHeadersTooLargeError):
    pass


class StreamUnprocessableEntityError(StreamError, UnprocessableEntityError):
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


def _status_classes(cls: type[APIStatusError]) -> Iterator[type[APIStatusError]]:
    for sub in cls.__subclasses__():
        if not issubclass(sub, StreamError):
            yield sub
            yield from _status_classes(sub)


def _stream_twins() -> dict[type[APIStatusError], type[StreamError]]:
    twins: dict[type[APIStatusError], type[StreamError]] = {}
    for twin in StreamError.__subclasses__():
        for base in twin.__bases__:
            if base is not StreamError and issubclass(base, APIStatusError):
                twins[base] = twin
    return twins


# Read off the classes' own declarations and the schema's table: nothing to keep in step.
_BY_STATUS = {c.status_code: c for c in _status_classes(APIStatusError) if "status_code" in vars(c)}
_REFINED: dict[str, type[APIStatusError]] = {
    key: c for c in _status_classes(APIStatusError) for key in c.refines
}
_STREAM_TWIN = _stream_twins()
_STATUS_BY_CODE: dict[str, int] = {code: spec.status for code, spec in ERRORS.items()}


def _usual_status_by_type() -> dict[str, int]:
    """For an event that names a type but no code we know: the status most of its codes use."""
    counts: dict[str, Counter[int]] = {}
    for spec in ERRORS.values():
        counts.setdefault(spec.type, Counter())[spec.status] += 1
    return {error_type: c.most_common(1)[0][0] for error_type, c in counts.items()}


_STATUS_BY_TYPE = _usual_status_by_type()


def error_class_for(
    status: int, error_type: str | None = None, error_code: str | None = None
) -> type[APIStatusError]:
    """The class for an HTTP error response: the status decides, ``code``/``type`` refine.

    A refinement applies only within its status, so ``except`` clauses written
    against statuses stay right even if a server sends an unexpected code.
    """
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    for key in (error_code, error_type):
        refined = _REFINED.get(key) if key is not None else None
        if refined is not None and issubclass(refined, cls):
            return refined
    return cls


def status_for(error_type: str | None, error_code: str | None = None) -> int | None:
    """The HTTP status the gateway sends this failure with (None: not one of ours)."""
    if error_code is not None and error_code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[error_code]
    if error_type is not None:
        return _STATUS_BY_TYPE.get(error_type)
    return None


def stream_error_class_for(
    error_type: str | None, error_code: str | None = None
) -> tuple[type[StreamError], int]:
    """The class for an in-stream error event and the HTTP status it stands for."""
    status = status_for(error_type, error_code)
    if status is None:
        return StreamError, 500
    cls = error_class_for(status, error_type, error_code)
    return _STREAM_TWIN.get(cls, StreamError), status


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


def status_error_from_response(response: httpx.Response) -> APIStatusError:
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
        retry_after=parse_retry_after(response.headers),
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
