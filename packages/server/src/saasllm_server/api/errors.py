"""Every failure leaves as the one JSON error body, with the right status.

Handlers cover our typed errors, FastAPI's validation errors (including
malformed JSON), Starlette's routing errors, and, as a last resort, anything
unexpected (500 without internals).
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from saasllm_schema import ERRORS, ErrorBody, ErrorCode
from saasllm_server.errors import GatewayError, error_body

log = logging.getLogger("saasllm.errors")

HTTP_ERROR_CODES: dict[int, ErrorCode] = {
    401: ErrorCode.INVALID_API_KEY,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.ALREADY_EXISTS,
    413: ErrorCode.BODY_TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
}
"""The codes of Starlette's own refusals (no such route, wrong method...) by status; the
table gives their types. Any other status keeps its number and takes ``HTTP_OTHER_CODE``."""
HTTP_OTHER_CODE = ErrorCode.VALIDATION_ERROR


def error_json(body: ErrorBody) -> bytes:
    return body.model_dump_json(exclude_none=True).encode()


def error_response(
    code: ErrorCode, message: str, *, param: str | None = None, retry_after: float | None = None
) -> Response:
    """The one error body, sent with its code's status."""
    return _response(error_body(code, message, param), ERRORS[code].status, retry_after)


def gateway_error_response(exc: GatewayError) -> Response:
    return _response(exc.body(), exc.status, exc.retry_after)


def _response(body: ErrorBody, status: int, retry_after: float | None = None) -> Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return Response(
        error_json(body), status_code=status, media_type="application/json", headers=headers
    )


def _validation_message(exc: RequestValidationError) -> tuple[ErrorCode, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ErrorCode.INVALID_JSON, "request body is not valid JSON", None
    parts: list[str] = []
    first_param: str | None = None
    for error in errors[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "path", "query")]
        where = ".".join(loc) or "body"
        first_param = first_param or where
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    if len(errors) > 5:
        parts.append(f"... and {len(errors) - 5} more")
    return ErrorCode.VALIDATION_ERROR, "; ".join(parts), first_param


async def authentication_refusal(request: Request) -> GatewayError | None:
    """The 401 (or 429, 403) a request's credentials get, if any: a stranger hears that
    before anything about what its request got wrong."""
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return None
    authorization = request.headers.get("authorization")
    try:
        if request.url.path.startswith("/admin/"):
            from saasllm_server.api.admin.auth import authenticate_admin

            await authenticate_admin(gateway, authorization)
        elif request.url.path.startswith(("/api/", "/v1/")):
            client = request.client
            await gateway.auth.authenticate(
                authorization, client=client.host if client is not None else None
            )
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
        refusal = await authentication_refusal(request)
        if refusal is not None:
            return gateway_error_response(refusal)
        code, message, param = _validation_message(exc)
        return error_response(code, message, param=param)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_ERROR_CODES.get(exc.status_code, HTTP_OTHER_CODE)
        return _response(error_body(code, str(exc.detail)), exc.status_code)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(ErrorCode.INTERNAL_ERROR, "internal error")

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
