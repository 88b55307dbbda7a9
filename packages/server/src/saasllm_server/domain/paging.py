"""Opaque pagination cursors (the sort key of the last item, base64url-encoded JSON) and
the page built from one fetch of ``limit + 1`` rows."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from saasllm_schema import Page
from saasllm_server.errors import InvalidRequest

Row = TypeVar("Row")
Item = TypeVar("Item")


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


def page_of(
    rows: Sequence[Row],
    limit: int,
    item: Callable[[Row], Item],
    sort_key: Callable[[Row], tuple[Any, ...]],
) -> Page[Item]:
    """A page from ``limit + 1`` fetched rows: the extra row only says whether more follow;
    the cursor is the sort key of the last row shown."""
    shown = rows[:limit]
    more = len(rows) > limit and bool(shown)
    return Page[Item](
        data=[item(row) for row in shown],
        next_cursor=encode_cursor(*sort_key(shown[-1])) if more else None,
    )
