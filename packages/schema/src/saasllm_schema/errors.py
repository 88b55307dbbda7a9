"""The one error body every endpoint returns, and the names of its types and codes.

The SDK picks an exception class from ``type`` (and ``code`` where one status
covers several failures), so these strings are part of the wire contract.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class ErrorType(StrEnum):
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    NOT_FOUND = "not_found_error"
    CONFLICT = "conflict_error"
    INVALID_REQUEST = "invalid_request_error"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit_error"
    UPSTREAM = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UNAVAILABLE = "service_unavailable"
    INTERNAL = "internal_error"


class ErrorCode(StrEnum):
    MISSING_API_KEY = "missing_api_key"
    INVALID_API_KEY = "invalid_api_key"
    INVALID_ADMIN_KEY = "invalid_admin_key"
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
    STREAM_ABANDONED = "stream_abandoned"
    VALIDATION_ERROR = "validation_error"
    INVALID_JSON = "invalid_json"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    CONCURRENCY_LIMITED = "concurrency_limited"
    UPSTREAM_ERROR = "upstream_error"
    UPSTREAM_RATE_LIMITED = "upstream_rate_limited"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    INTERNAL_ERROR = "internal_error"


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
