"""Typed gateway failures. Each class fixes its HTTP status, error type and code.

Domain code raises these; the API layer turns any of them into the one error
body, so a status is decided in exactly one place.
"""

from __future__ import annotations

from saasllm_schema import ErrorCode, ErrorType


class GatewayError(Exception):
    status: int = 500
    type: ErrorType = ErrorType.INTERNAL
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


class AuthenticationFailed(GatewayError):
    status = 401
    type = ErrorType.AUTHENTICATION
    code = ErrorCode.INVALID_API_KEY


class PermissionDenied(GatewayError):
    status = 403
    type = ErrorType.PERMISSION
    code = ErrorCode.PERMISSION_DENIED


class TeamKeyNotAdmin(PermissionDenied):
    code = ErrorCode.TEAM_KEY_NOT_ADMIN


class TeamSuspended(PermissionDenied):
    code = ErrorCode.TEAM_SUSPENDED


class InsufficientScope(PermissionDenied):
    code = ErrorCode.INSUFFICIENT_SCOPE


class InsufficientCredits(GatewayError):
    status = 403
    type = ErrorType.INSUFFICIENT_CREDITS
    code = ErrorCode.INSUFFICIENT_CREDITS


class NotFound(GatewayError):
    status = 404
    type = ErrorType.NOT_FOUND
    code = ErrorCode.NOT_FOUND


class JobNotFound(NotFound):
    code = ErrorCode.JOB_NOT_FOUND


class ModelGroupNotFound(NotFound):
    code = ErrorCode.MODEL_GROUP_NOT_FOUND


class Conflict(GatewayError):
    status = 409
    type = ErrorType.CONFLICT
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
    status = 422
    type = ErrorType.INVALID_REQUEST
    code = ErrorCode.VALIDATION_ERROR


class RequestTooLarge(GatewayError):
    status = 413
    type = ErrorType.REQUEST_TOO_LARGE
    code = ErrorCode.BODY_TOO_LARGE


class RateLimited(GatewayError):
    status = 429
    type = ErrorType.RATE_LIMIT
    code = ErrorCode.RATE_LIMITED


class UpstreamFailed(GatewayError):
    """The provider answered with an error, or the connection to it broke."""

    status = 502
    type = ErrorType.UPSTREAM
    code = ErrorCode.UPSTREAM_ERROR


class UpstreamRateLimited(GatewayError):
    status = 429
    type = ErrorType.RATE_LIMIT
    code = ErrorCode.UPSTREAM_RATE_LIMITED


class UpstreamUnavailable(GatewayError):
    status = 503
    type = ErrorType.UNAVAILABLE
    code = ErrorCode.UPSTREAM_UNAVAILABLE


class UpstreamTimeout(GatewayError):
    status = 504
    type = ErrorType.UPSTREAM_TIMEOUT
    code = ErrorCode.UPSTREAM_TIMEOUT
