"""Choosing the exception class from a status and an error body, in and out of streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import saasllm
from saasllm import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    JobAlreadyCompletedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestHeadersTooLargeError,
    RequestTooLargeError,
    SaaSLLMError,
    ServiceUnavailableError,
    StreamError,
    StreamTruncatedError,
    StreamUnprocessableEntityError,
    TeamSuspendedError,
    UnprocessableEntityError,
    UpstreamError,
    UpstreamTimeoutError,
)
from saasllm._errors import (
    error_class_for,
    parse_error_body,
    status_error_from_response,
    stream_error_class_for,
    stream_error_from_data,
)
from saasllm_schema import ERRORS, ErrorCode, ErrorType

BY_STATUS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    431: RequestHeadersTooLargeError,
    429: RateLimitError,
    500: InternalServerError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: UpstreamTimeoutError,
}
# Statuses with no class of their own: only a wrong URL or a foreign server answers them
# (the SDK never sends a method an endpoint does not take), so APIStatusError carries them.
UNCLASSED = {405}
REFINED = {
    ErrorCode.INSUFFICIENT_CREDITS: InsufficientCreditsError,
    ErrorCode.TEAM_SUSPENDED: TeamSuspendedError,
}

REQUEST = httpx.Request("POST", "http://gateway.test/api/jobs/j/llm-call")


def response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if body is None:
        return httpx.Response(status, request=REQUEST, headers=headers)
    return httpx.Response(status, json=body, request=REQUEST, headers=headers)


def body(type_: str, code: str, message: str = "msg") -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "message": message}}


@pytest.mark.parametrize(
    ("status", "type_", "code", "cls"),
    [
        (400, "invalid_request_error", "validation_error", BadRequestError),
        (401, "authentication_error", "invalid_api_key", AuthenticationError),
        (403, "insufficient_credits", "insufficient_credits", InsufficientCreditsError),
        (403, "permission_error", "insufficient_credits", InsufficientCreditsError),
        (403, "permission_error", "team_suspended", TeamSuspendedError),
        (403, "permission_error", "model_group_not_allowed", PermissionDeniedError),
        (404, "not_found_error", "job_not_found", NotFoundError),
        (409, "conflict_error", "job_already_completed", ConflictError),
        (413, "request_too_large", "body_too_large", RequestTooLargeError),
        (422, "invalid_request_error", "validation_error", UnprocessableEntityError),
        (429, "rate_limit_error", "rate_limited", RateLimitError),
        (500, "internal_error", "internal_error", InternalServerError),
        (502, "upstream_error", "upstream_error", UpstreamError),
        (503, "service_unavailable", "upstream_unavailable", ServiceUnavailableError),
        (504, "upstream_timeout", "upstream_timeout", UpstreamTimeoutError),
        (507, "internal_error", "internal_error", InternalServerError),
        (418, "whatever", "teapot", APIStatusError),
    ],
)
def test_class_by_status_type_and_code(status: int, type_: str, code: str, cls: type) -> None:
    assert error_class_for(status, type_, code) is cls
    error = status_error_from_response(response(status, body(type_, code, "why")))
    assert type(error) is cls
    assert error.status_code == status
    assert error.error_type == type_
    assert error.error_code == code
    assert error.message.endswith("why")
    assert error.body == body(type_, code, "why")


def test_status_error_is_an_httpx_status_error_with_a_readable_response() -> None:
    error = status_error_from_response(
        response(403, body("insufficient_credits", "insufficient_credits"))
    )
    assert isinstance(error, httpx.HTTPStatusError)
    assert isinstance(error, SaaSLLMError)
    assert error.response.status_code == 403
    assert error.response.json()["error"]["code"] == "insufficient_credits"
    assert error.request is REQUEST
    with pytest.raises(httpx.HTTPStatusError) as caught:
        raise error
    assert caught.value.response.status_code == 403


def test_rate_limit_carries_retry_after_and_request_id() -> None:
    headers = {"x-request-id": "req-7", "retry-after": "2.5"}
    error = status_error_from_response(
        response(429, body("rate_limit_error", "rate_limited"), headers)
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.5
    assert error.request_id == "req-7"


def test_conflict_alias() -> None:
    assert JobAlreadyCompletedError is ConflictError


def test_non_json_and_foreign_bodies() -> None:
    error = status_error_from_response(httpx.Response(502, text="Bad Gateway", request=REQUEST))
    assert isinstance(error, UpstreamError)
    assert error.message.endswith("Bad Gateway")
    assert error.error_type is None
    assert parse_error_body({"detail": "Not Found"}) == (None, None, "Not Found", None)
    assert parse_error_body({"error": "plain"}) == (None, None, "plain", None)
    assert parse_error_body(None) == (None, None, None, None)
    empty = status_error_from_response(response(500))
    assert isinstance(empty, InternalServerError)


@pytest.mark.parametrize(
    ("type_", "mixin", "status"),
    [
        ("upstream_error", UpstreamError, 502),
        ("upstream_timeout", UpstreamTimeoutError, 504),
        ("rate_limit_error", RateLimitError, 429),
        ("service_unavailable", ServiceUnavailableError, 503),
        ("internal_error", InternalServerError, 500),
        ("insufficient_credits", InsufficientCreditsError, 403),
        ("permission_error", PermissionDeniedError, 403),
        ("authentication_error", AuthenticationError, 401),
        ("not_found_error", NotFoundError, 404),
        ("conflict_error", ConflictError, 409),
        ("invalid_request_error", UnprocessableEntityError, 422),
        ("request_too_large", RequestTooLargeError, 413),
    ],
)
def test_stream_error_is_both_stream_error_and_the_status_class(
    type_: str, mixin: type, status: int
) -> None:
    ok = httpx.Response(200, request=REQUEST)
    error = stream_error_from_data(
        f'{{"error": {{"type": "{type_}", "code": "c", "message": "boom"}}}}', ok
    )
    assert isinstance(error, StreamError)
    assert isinstance(error, mixin)
    assert isinstance(error, httpx.HTTPStatusError)
    assert error.status_code == status
    assert error.stream_response is ok
    assert error.response.status_code == status
    assert error.response.json() == error.body
    assert error.error_type == type_
    assert "boom" in str(error)


def test_every_error_type_has_a_stream_class() -> None:
    for error_type in ErrorType:
        cls, status = stream_error_class_for(error_type)
        assert cls is not StreamError, error_type
        assert 400 <= status < 600


def test_an_event_with_a_type_alone_gets_the_types_usual_status() -> None:
    """An error event has no status: a code we know gives it one, else its type does."""
    assert stream_error_class_for("invalid_request_error", "no_such_code") == (
        StreamUnprocessableEntityError,
        422,
    )
    assert stream_error_class_for("invalid_request_error", "method_not_allowed")[1] == 405


@pytest.mark.parametrize("code", list(ERRORS), ids=str)
def test_every_code_maps_to_one_class_as_a_response_and_in_a_stream(code: ErrorCode) -> None:
    spec = ERRORS[code]
    wire = body(spec.type, code, "why")
    headers = {"retry-after": "3"} if spec.status == 429 else None
    http_error = status_error_from_response(response(spec.status, wire, headers))
    cls = type(http_error)
    assert cls is error_class_for(spec.status, spec.type, code)
    assert http_error.status_code == spec.status
    if spec.status in UNCLASSED:
        assert cls is APIStatusError
    elif code in REFINED:
        assert cls is REFINED[code]
    elif spec.type == ErrorType.INSUFFICIENT_CREDITS:
        assert cls is InsufficientCreditsError
    else:
        assert cls is BY_STATUS[spec.status]
    if spec.status == 429:
        assert http_error.retry_after == 3.0

    ok = httpx.Response(200, request=REQUEST)
    stream_error = stream_error_from_data(json.dumps(wire), ok)
    if cls is APIStatusError:
        assert type(stream_error) is StreamError
    else:
        assert type(stream_error).__bases__ == (StreamError, cls)
    assert stream_error.status_code == spec.status
    assert stream_error.response.status_code == spec.status
    assert stream_error.error_code == code


@pytest.mark.parametrize(
    ("status", "cls"),
    [(599, InternalServerError), (502, UpstreamError), (418, APIStatusError)],
)
def test_status_wins_for_codes_it_does_not_know(status: int, cls: type) -> None:
    """A foreign server, or a proxy in between: the status decides, whatever the body says."""
    error = status_error_from_response(response(status, body("whatever", "no_such_code")))
    assert type(error) is cls
    refined = status_error_from_response(response(409, body("permission_error", "team_suspended")))
    assert type(refined) is ConflictError


def test_unknown_or_garbled_stream_error() -> None:
    ok = httpx.Response(200, request=REQUEST)
    error = stream_error_from_data("not json", ok)
    assert type(error) is StreamError
    assert error.status_code == 500
    assert "not json" in str(error)


def test_timeout_errors_are_builtin_timeouts() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APITimeoutError, TimeoutError)
    with pytest.raises(asyncio.TimeoutError):
        raise APITimeoutError()
    assert issubclass(StreamTruncatedError, APIConnectionError)
    assert not issubclass(APIConnectionError, httpx.HTTPError)


def test_no_class_shadows_pydantic_validation_error() -> None:
    assert not hasattr(saasllm, "ValidationError")
