"""Refuse URLs carrying a NUL character (``%00``) before any route sees them.

No identifier or filter of the API can contain one, and PostgreSQL cannot
compare text with one: left through, ``GET /admin/teams/x%00`` would be a
database error (a 500) instead of a client error.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from saasllm_schema import ErrorCode
from saasllm_server.api.errors import error_response


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            response = error_response(
                ErrorCode.VALIDATION_ERROR, "a URL cannot contain a NUL character"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
