"""Every failure an operator command can meet, as one ``error: <code>: <message>`` line.

Operators script these commands; a traceback is noise to them and a wall of text to
a log, while a stable code (``not_found``, ``invalid_admin_key``) is something a
script can match on.
"""

from __future__ import annotations

import re
from typing import Any

# The SDK's message starts "HTTP 404 not_found: "; our line already says the code.
_SDK_PREFIX = re.compile(r"^HTTP \d{3}(?: [^\s:]+)?: ")


class CommandError(Exception):
    """A problem found before or after talking to the gateway (bad combination of options)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _server_message(body: Any) -> str | None:
    # The SDK's own message is prefixed with "HTTP <status> <code>:"; the line we
    # print names the code once, so take the server's words from the body.
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    for key in ("error", "detail", "message"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return None


def describe(exc: BaseException, *, url: str) -> tuple[str, str] | None:
    """``(code, message)`` for a failure we expect, ``None`` for a bug (let it raise)."""
    import httpx
    import pydantic

    from saasllm import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
    )

    if isinstance(exc, CommandError):
        return exc.code, exc.message
    if isinstance(exc, APIStatusError):
        code = exc.error_code or exc.error_type or f"http_{exc.status_code}"
        return code, _server_message(exc.body) or _SDK_PREFIX.sub("", exc.message)
    if isinstance(exc, APITimeoutError):
        return "timeout", f"the gateway at {url} did not answer in time"
    if isinstance(exc, APIConnectionError):
        # The transport's own words ("[Errno 111] Connection refused"), not the SDK's
        # wrapper with a repr inside.
        detail = str(exc.__cause__ or "") or exc.message
        return "connection_error", f"cannot reach the gateway at {url}: {detail}"
    if isinstance(exc, APIResponseValidationError):
        return "invalid_response", f"{url} answered in a shape this client does not know"
    if isinstance(exc, httpx.InvalidURL):
        return "invalid_url", f"{url!r} is not a gateway URL: {exc}"
    if isinstance(exc, pydantic.ValidationError):
        # The SDK checks request bodies against the schema before sending them.
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
            for error in exc.errors()[:3]
        ]
        return "validation_error", "; ".join(problems)
    return None


def error_line(code: str, message: str) -> str:
    return f"error: {code}: {_one_line(message)}"
