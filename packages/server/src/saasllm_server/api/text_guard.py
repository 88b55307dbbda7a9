"""Refuse request bodies with text that cannot be encoded as UTF-8, before any route sees them.

JSON may spell a lone UTF-16 surrogate (``"a\\ud800b"``), and the JSON reader behind
FastAPI's body parameters turns it into a ``str`` that no encoder takes: the upstream
request's serialiser and the database driver then fail with a 500, after credits were
held. Every route's body passes here, the admin API's included; the answer is the
validation error's (422, ``invalid_request_error``) with the field named in ``param``,
and a caller without valid credentials hears 401 first, as for any validation error.

The cost on ordinary bodies is one scan for ``\\u`` and ``\\xed`` (and a regular
expression when one is there); only a body that may spell a lone surrogate is parsed.
A body arriving in pieces is collected first (the body limit, outside, has bounded it).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saasllm_schema import ErrorCode
from saasllm_schema.text import may_spell_lone_surrogate, printable_path, unencodable_text
from saasllm_server.api.errors import authentication_refusal, error_response, gateway_error_response

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def unencodable_field(raw: bytes) -> str | None:
    """The first field of a JSON body whose text cannot be encoded as UTF-8, or None (also
    for a body that is not JSON: the route reports that)."""
    if not may_spell_lone_surrogate(raw):
        return None
    try:
        document = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None
    path = unencodable_text(document)
    return None if path is None else printable_path(path)


class TextGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        message = await receive()
        if message["type"] != "http.request":
            await self.app(scope, _replay([message], receive), send)
            return
        messages = [message]
        body = message.get("body", b"")
        if message.get("more_body", False):
            chunks = [body]
            while message.get("more_body", False):
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
            body = b"".join(chunks)
        field = unencodable_field(body)
        if field is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        refusal = await authentication_refusal(Request(scope))
        if refusal is not None:
            response = gateway_error_response(refusal)
        else:
            response = error_response(
                ErrorCode.VALIDATION_ERROR,
                f"{field}: text must be valid Unicode (a lone UTF-16 surrogate cannot be "
                "encoded as UTF-8)",
                param=field,
            )
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that hands out the messages already read, then the live ones."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
