"""Documents that fit a JSON Schema, for ``response_format`` and tool-call arguments.

The SDK's structured-output helpers parse what the fake returns into the
caller's pydantic model, so the document must validate; it must also be the
same on every run, so tests can compare it with :func:`example_from_schema`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

_MAX_DEPTH: Final = 12
_STRING_FORMATS: Final[dict[str, str]] = {
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "iri": "https://example.com",
    "hostname": "example.com",
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "P1D",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
_PATTERN_CANDIDATES: Final = (
    "example",
    "user@example.com",
    "https://example.com",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "00000000-0000-4000-8000-000000000000",
    "Example",
    "EXAMPLE",
    "abc",
    "a",
    "0",
    "1",
    "123",
    "example-1",
    "example_1",
)


def example_from_schema(schema: object, root: object = None) -> Any:
    """A deterministic document valid for a JSON Schema, as far as structure goes.

    Objects get every property (nested objects and ``$ref``/``$defs`` included),
    arrays one item (or ``minItems``), enums their first value, ``anyOf``/``oneOf``
    their first non-null branch, strings ``"example"`` or a value fitting their
    ``format``; for a ``pattern`` the first of a few stock strings that matches is
    used, numbers respect their bounds, booleans are false. ``uniqueItems``,
    ``multipleOf`` and ``not`` are not honoured.
    """
    return _example(schema, schema if root is None else root, 0)


def _resolve_ref(root: object, ref: str) -> object:
    if not ref.startswith("#"):
        return {}
    node = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return {}
    return node


def _is_null_schema(schema: object) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _example(schema: object, root: object, depth: int) -> Any:
    if depth > _MAX_DEPTH or not isinstance(schema, dict):
        return None if depth > _MAX_DEPTH else "example"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve_ref(root, ref)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        merged = {**target, **rest} if isinstance(target, dict) else rest
        return _example(merged, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            non_null = [b for b in branches if not _is_null_schema(b)]
            return _example((non_null or branches)[0], root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        parts = [_example(s, root, depth + 1) for s in all_of]
        if all(isinstance(p, dict) for p in parts):
            return {k: v for p in parts for k, v in p.items()}
        return parts[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            kind = "object"
        elif "items" in schema or "prefixItems" in schema:
            kind = "array"
    if kind == "object":
        return _example_object(schema, root, depth)
    if kind == "array":
        return _example_array(schema, root, depth)
    if kind in ("integer", "number"):
        return _example_number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _example_string(schema)


def _example_object(schema: dict[str, Any], root: object, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names: list[str] = list(properties)
    if depth > _MAX_DEPTH // 2 and isinstance(required, list):
        names = [n for n in names if n in required]
    return {name: _example(properties[name], root, depth + 1) for name in names}


def _example_array(schema: dict[str, Any], root: object, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list):
        return [_example(s, root, depth + 1) for s in prefix]
    low = schema.get("minItems", 0)
    high = schema.get("maxItems")
    count = max(1, low if isinstance(low, int) else 0)
    if isinstance(high, int):
        count = min(count, high)
    if depth > _MAX_DEPTH // 2:
        count = low if isinstance(low, int) else 0
    item = schema.get("items", {})
    return [_example(item, root, depth + 1) for _ in range(count)]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _bound(
    schema: dict[str, Any], inclusive: str, exclusive: str, *, lower: bool
) -> tuple[float | None, bool]:
    """One side of a numeric range as (value, is_exclusive), draft 4 and draft 6+ alike."""
    value = _number(schema.get(inclusive))
    flag = schema.get(exclusive)
    if isinstance(flag, bool):
        return value, flag and value is not None
    limit = _number(flag)
    if limit is None:
        return value, False
    if value is not None and (value > limit if lower else value < limit):
        return value, False
    return limit, True


def _example_number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low, low_x = _bound(schema, "minimum", "exclusiveMinimum", lower=True)
    high, high_x = _bound(schema, "maximum", "exclusiveMaximum", lower=False)
    step = 1.0 if integer or low is None or high is None else min(1.0, (high - low) / 2)

    def fits(v: float) -> bool:
        above = low is None or (v > low if low_x else v >= low)
        below = high is None or (v < high if high_x else v <= high)
        return above and below

    candidates: list[float] = [0.0]
    if low is not None:
        start = math.ceil(low) if integer else low
        candidates += [start, start + step]
    if high is not None:
        end = math.floor(high) if integer else high
        candidates += [end, end - step]
    for value in candidates:
        if fits(value):
            return int(value) if integer else value
    return int(low or 0) if integer else (low or 0.0)


def _example_string(schema: dict[str, Any]) -> str:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    low = low if isinstance(low, int) else 0
    high = high if isinstance(high, int) else None

    def fits(v: str) -> bool:
        return len(v) >= low and (high is None or len(v) <= high)

    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(fmt, str) and fmt in _STRING_FORMATS:
        return _STRING_FORMATS[fmt]
    if isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = None
        if compiled is not None:
            for candidate in _PATTERN_CANDIDATES:
                if compiled.search(candidate) and fits(candidate):
                    return candidate
    value = "example"
    if len(value) < low:
        value += "x" * (low - len(value))
    return value if high is None else value[:high]
