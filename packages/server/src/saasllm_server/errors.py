"""Typed gateway failures. Each class names its code; the schema's table gives the rest.

Domain code raises these; the API layer turns any of them into the one error
body. The HTTP status and error type always come from ``saasllm_schema.ERRORS``
by code (also for a ``code=`` given at the raise site), so a code can never
travel with two statuses, and the SDK, reading the same table, agrees.
"""

from __future__ import annotations

from saasllm_schema import ERRORS, ErrorBody, ErrorCode, ErrorDetail, ErrorType


class GatewayError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        retry_after: float | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.param = param

    @property
    def status(self) -> int:
        return ERRORS[self.code].status

    @property
    def type(self) -> ErrorType:
        return ERRORS[self.code].type

    def body(self) -> ErrorBody:
        return error_body(self.code, self.message, self.param)


def error_body(code: ErrorCode, message: str, param: str | None = None) -> ErrorBody:
    """The one error body, for a failure that is not (or not yet) a ``GatewayError``."""
    return ErrorBody(
        error=ErrorDetail(type=ERRORS[code].type, code=code, message=message, param=param)
    )


class AuthenticationFailed(GatewayError):
    code = ErrorCode.INVALID_API_KEY


class PermissionDenied(GatewayError):
    code = ErrorCode.PERMISSION_DENIED


class TeamKeyNotAdmin(PermissionDenied):
    code = ErrorCode.TEAM_KEY_NOT_ADMIN


class TeamSuspended(PermissionDenied):
    code = ErrorCode.TEAM_SUSPENDED


class InsufficientScope(PermissionDenied):
    code = ErrorCode.INSUFFICIENT_SCOPE


class InsufficientCredits(GatewayError):
    code = ErrorCode.INSUFFICIENT_CREDITS


class NotFound(GatewayError):
    code = ErrorCode.NOT_FOUND


class JobNotFound(NotFound):
    code = ErrorCode.JOB_NOT_FOUND


class ModelGroupNotFound(NotFound):
    code = ErrorCode.MODEL_GROUP_NOT_FOUND


class Conflict(GatewayError):
    code = ErrorCode.ALREADY_EXISTS


class JobAlreadyCompleted(Conflict):
    code = ErrorCode.JOB_ALREADY_COMPLETED


class AlreadyRefunded(Conflict):
    code = ErrorCode.ALREADY_REFUNDED


class IdempotencyKeyReused(Conflict):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class CallsInFlight(Conflict):
    code = ErrorCode.CALLS_IN_FLIGHT


class KeyNotActive(Conflict):
    code = ErrorCode.KEY_NOT_ACTIVE


class StreamAbandoned(Conflict):
    code = ErrorCode.STREAM_ABANDONED


class InvalidRequest(GatewayError):
    code = ErrorCode.VALIDATION_ERROR


class HeadersTooLarge(GatewayError):
    """The request head is over the edge's limits: sent by the HTTP protocol, before any route."""

    code = ErrorCode.HEADERS_TOO_LARGE


class RateLimited(GatewayError):
    code = ErrorCode.RATE_LIMITED


class UpstreamFailed(GatewayError):
    """The provider answered with an error, or the connection to it broke."""

    code = ErrorCode.UPSTREAM_ERROR


class UpstreamRateLimited(GatewayError):
    code = ErrorCode.UPSTREAM_RATE_LIMITED


class UpstreamUnavailable(GatewayError):
    code = ErrorCode.UPSTREAM_UNAVAILABLE


class UpstreamTimeout(GatewayError):
    code = ErrorCode.UPSTREAM_TIMEOUT
