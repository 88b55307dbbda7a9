"""Plain-text tables for a terminal: columns as wide as their content, numbers flush right.

No dependency on purpose: the operator commands run on any box that has the server
installed, often over SSH, and the output must survive ``grep``, ``less`` and a copy
into a ticket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

# A Decimal is a number the caller already rounded to a fixed precision (money).
Cell = str | int | float | Decimal | bool | datetime | date | None

EMPTY = "-"
GAP = "  "


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _clean(text: str) -> str:
    # Free text (reasons, names) comes from other people: control characters would
    # break the alignment or, worse, drive the operator's terminal.
    return "".join(ch if ch.isprintable() else " " for ch in text)


def cell_text(value: Cell) -> str:
    """How one value reads in a table: short UTC dates, ``-`` for nothing, yes/no."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    if isinstance(value, int | Decimal):
        return str(value)
    return _clean(value) or EMPTY


def joined(values: Iterable[str] | None, *, when_none: str = EMPTY) -> str:
    """A list in one cell; ``when_none`` says what an absent list means (e.g. "all")."""
    if values is None:
        return when_none
    return ", ".join(values) or EMPTY


def compact(value: dict[str, Any], width: int = 80) -> str:
    """A JSON object on one line, cut to ``width`` (``--json`` has the whole of it)."""
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    footer: Sequence[Cell] | None = None,
    empty: str = "(none)",
) -> str:
    """Rows under a ruled header; ``footer`` (totals) goes under a second rule.

    A column is right-aligned when every value in it is a number, so a column of
    amounts lines up on the units digit while a column that mixes in text stays left.
    """
    body = [list(row) for row in rows]
    every = body + ([list(footer)] if footer is not None else [])
    right = [
        any(_is_number(row[i]) for row in every)
        and all(_is_number(row[i]) or row[i] is None for row in every)
        for i in range(len(headers))
    ]
    texts = [[cell_text(value) for value in row] for row in every]
    widths = [max([len(h)] + [len(row[i]) for row in texts]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if flush else cell.ljust(width)
            for cell, width, flush in zip(cells, widths, right, strict=True)
        ]
        return GAP.join(parts).rstrip()

    rule = GAP.join("-" * width for width in widths)
    out = [line([h.upper() for h in headers]), rule]
    out += [line(row) for row in texts[: len(body)]]
    if not body:
        out.append(empty)
    if footer is not None:
        out += [rule, line(texts[-1])]
    return "\n".join(out)


def record(fields: Sequence[tuple[str, Cell]]) -> str:
    """One object as ``label  value`` lines: the table of a ``show``."""
    width = max((len(label) for label, _ in fields), default=0)
    return "\n".join(
        f"{label.ljust(width)}{GAP}{cell_text(value)}".rstrip() for label, value in fields
    )
