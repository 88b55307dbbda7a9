"""Opaque pagination cursors: the sort key of the last item, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from saasllm_server.errors import InvalidRequest


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidRequest("invalid cursor", param="cursor") from None
    if not isinstance(values, list) or not values:
        raise InvalidRequest("invalid cursor", param="cursor")
    return values


def int_cursor(cursor: str) -> int:
    value = decode_cursor(cursor)[0]
    if type(value) is not int or not 0 < value < 2**63:
        raise InvalidRequest("invalid cursor", param="cursor")
    return value
