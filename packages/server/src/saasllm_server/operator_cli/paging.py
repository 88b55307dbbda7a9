"""Follow a listing's cursor until ``limit`` items: the API caps a page at 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from saasllm_schema.admin import Page

T = TypeVar("T")

MAX_PAGE = 500

Fetch = Callable[[int, str | None], Page[T]]


def collect(fetch: Fetch[T], limit: int) -> list[T]:
    """``fetch(page_size, cursor)`` until ``limit`` items or the listing ends."""
    items: list[T] = []
    cursor: str | None = None
    while len(items) < limit:
        page = fetch(min(MAX_PAGE, limit - len(items)), cursor)
        items.extend(page.data)
        cursor = page.next_cursor
        if cursor is None or not page.data:
            break
    return items[:limit]
