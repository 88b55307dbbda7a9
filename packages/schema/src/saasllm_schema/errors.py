"""The one error body every endpoint returns, the names of its types and codes, and
the one table that says which HTTP status and type each code travels with.

The server builds every error body from :data:`ERRORS`; the SDK reads the same
table to pick its exception class, so these strings are part of the wire contract.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel


class ErrorType(StrEnum):
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    NOT_FOUND = "not_found_error"
    CONFLICT = "conflict_error"
    INVALID_REQUEST = "invalid_request_error"
    REQUEST_TOO_LARGE = "request_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    RATE_LIMIT = "rate_limit_error"
    UPSTREAM = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UNAVAILABLE = "service_unavailable"
    INTERNAL = "internal_error"


class ErrorCode(StrEnum):
    MISSING_API_KEY = "missing_api_key"
    INVALID_API_KEY = "invalid_api_key"
    INVALID_ADMIN_KEY = "invalid_admin_key"
    TEAM_KEY_NOT_ADMIN = "team_key_not_admin"
    PERMISSION_DENIED = "permission_denied"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    KEY_NOT_ACTIVE = "key_not_active"
    CALLS_IN_FLIGHT = "calls_in_flight"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    TEAM_SUSPENDED = "team_suspended"
    TEAM_MISMATCH = "team_mismatch"
    MODEL_GROUP_NOT_ALLOWED = "model_group_not_allowed"
    NOT_FOUND = "not_found"
    JOB_NOT_FOUND = "job_not_found"
    MODEL_GROUP_NOT_FOUND = "model_group_not_found"
    NO_DEFAULT_MODEL_GROUP = "no_default_model_group"
    JOB_ALREADY_COMPLETED = "job_already_completed"
    ALREADY_EXISTS = "already_exists"
    ALREADY_REFUNDED = "already_refunded"
    STREAM_ABANDONED = "stream_abandoned"
    VALIDATION_ERROR = "validation_error"
    INVALID_JSON = "invalid_json"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    RATE_LIMITED = "rate_limited"
    CONCURRENCY_LIMITED = "concurrency_limited"
    UPSTREAM_ERROR = "upstream_error"
    UPSTREAM_RATE_LIMITED = "upstream_rate_limited"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    INTERNAL_ERROR = "internal_error"


class ErrorSpec(NamedTuple):
    status: int
    type: ErrorType


_T = ErrorType
ERRORS: dict[ErrorCode, ErrorSpec] = {
    ErrorCode.MISSING_API_KEY: ErrorSpec(401, _T.AUTHENTICATION),
    ErrorCode.INVALID_API_KEY: ErrorSpec(401, _T.AUTHENTICATION),
    ErrorCode.INVALID_ADMIN_KEY: ErrorSpec(401, _T.AUTHENTICATION),
    ErrorCode.TEAM_KEY_NOT_ADMIN: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.PERMISSION_DENIED: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.INSUFFICIENT_SCOPE: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.TEAM_SUSPENDED: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.TEAM_MISMATCH: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.MODEL_GROUP_NOT_ALLOWED: ErrorSpec(403, _T.PERMISSION),
    ErrorCode.INSUFFICIENT_CREDITS: ErrorSpec(403, _T.INSUFFICIENT_CREDITS),
    ErrorCode.NOT_FOUND: ErrorSpec(404, _T.NOT_FOUND),
    ErrorCode.JOB_NOT_FOUND: ErrorSpec(404, _T.NOT_FOUND),
    ErrorCode.MODEL_GROUP_NOT_FOUND: ErrorSpec(404, _T.NOT_FOUND),
    ErrorCode.ALREADY_EXISTS: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.ALREADY_REFUNDED: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.JOB_ALREADY_COMPLETED: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.CALLS_IN_FLIGHT: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.KEY_NOT_ACTIVE: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.STREAM_ABANDONED: ErrorSpec(409, _T.CONFLICT),
    ErrorCode.METHOD_NOT_ALLOWED: ErrorSpec(405, _T.INVALID_REQUEST),
    ErrorCode.BODY_TOO_LARGE: ErrorSpec(413, _T.REQUEST_TOO_LARGE),
    ErrorCode.HEADERS_TOO_LARGE: ErrorSpec(431, _T.HEADERS_TOO_LARGE),
    ErrorCode.VALIDATION_ERROR: ErrorSpec(422, _T.INVALID_REQUEST),
    ErrorCode.INVALID_JSON: ErrorSpec(422, _T.INVALID_REQUEST),
    ErrorCode.NO_DEFAULT_MODEL_GROUP: ErrorSpec(422, _T.INVALID_REQUEST),
    ErrorCode.RATE_LIMITED: ErrorSpec(429, _T.RATE_LIMIT),
    ErrorCode.CONCURRENCY_LIMITED: ErrorSpec(429, _T.RATE_LIMIT),
    ErrorCode.UPSTREAM_RATE_LIMITED: ErrorSpec(429, _T.RATE_LIMIT),
    ErrorCode.INTERNAL_ERROR: ErrorSpec(500, _T.INTERNAL),
    ErrorCode.UPSTREAM_ERROR: ErrorSpec(502, _T.UPSTREAM),
    ErrorCode.UPSTREAM_UNAVAILABLE: ErrorSpec(503, _T.UNAVAILABLE),
    ErrorCode.UPSTREAM_TIMEOUT: ErrorSpec(504, _T.UPSTREAM_TIMEOUT),
}
"""Every code with the status and type it is always sent with."""


def error_spec(code: ErrorCode) -> ErrorSpec:
    return ERRORS[code]


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
