"""Every failure leaves as the one JSON error body, with the right status.

Handlers cover our typed errors, FastAPI's validation errors (including
malformed JSON), Starlette's routing errors, and, as a last resort, anything
unexpected (500 without internals).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from saasllm_schema import ErrorCode, ErrorType
from saasllm_server.errors import GatewayError

log = logging.getLogger("saasllm.errors")

_STATUS_TYPES: dict[int, tuple[ErrorType, ErrorCode]] = {
    401: (ErrorType.AUTHENTICATION, ErrorCode.INVALID_API_KEY),
    403: (ErrorType.PERMISSION, ErrorCode.MODEL_GROUP_NOT_ALLOWED),
    404: (ErrorType.NOT_FOUND, ErrorCode.NOT_FOUND),
    409: (ErrorType.CONFLICT, ErrorCode.ALREADY_EXISTS),
    413: (ErrorType.REQUEST_TOO_LARGE, ErrorCode.BODY_TOO_LARGE),
    429: (ErrorType.RATE_LIMIT, ErrorCode.RATE_LIMITED),
}


def error_payload(type_: str, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type_, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}


def error_response(
    status: int,
    type_: str,
    code: str,
    message: str,
    *,
    param: str | None = None,
    retry_after: float | None = None,
) -> Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return Response(
        orjson.dumps(error_payload(type_, code, message, param)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def gateway_error_response(exc: GatewayError) -> Response:
    return error_response(
        exc.status,
        exc.type.value,
        exc.code.value,
        exc.message,
        param=exc.param,
        retry_after=exc.retry_after,
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ErrorCode.INVALID_JSON.value, "request body is not valid JSON", None
    parts: list[str] = []
    first_param: str | None = None
    for error in errors[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "path", "query")]
        where = ".".join(loc) or "body"
        first_param = first_param or where
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    if len(errors) > 5:
        parts.append(f"... and {len(errors) - 5} more")
    return ErrorCode.VALIDATION_ERROR.value, "; ".join(parts), first_param


async def _authentication_refusal(request: Request) -> GatewayError | None:
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return None
    authorization = request.headers.get("authorization")
    try:
        if request.url.path.startswith("/admin/"):
            from saasllm_server.api.admin.auth import authenticate_admin

            await authenticate_admin(gateway, authorization)
        elif request.url.path.startswith(("/api/", "/v1/")):
            await gateway.auth.authenticate(authorization)
    except GatewayError as refusal:
        return refusal
    return None


def install(app: FastAPI) -> None:
    async def on_gateway_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return gateway_error_response(exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        # FastAPI parses the body before running the auth dependency; a stranger must
        # still hear 401, not learn about our validation rules.
        refusal = await _authentication_refusal(request)
        if refusal is not None:
            return gateway_error_response(refusal)
        code, message, param = _validation_message(exc)
        return error_response(422, ErrorType.INVALID_REQUEST.value, code, message, param=param)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        type_, code = _STATUS_TYPES.get(
            exc.status_code, (ErrorType.INVALID_REQUEST, ErrorCode.VALIDATION_ERROR)
        )
        return error_response(exc.status_code, type_.value, code.value, str(exc.detail))

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            500, ErrorType.INTERNAL.value, ErrorCode.INTERNAL_ERROR.value, "internal error"
        )

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
