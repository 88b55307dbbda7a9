"""Rules for free text that the gateway stores or sends on.

PostgreSQL's text cannot hold a NUL character, so one in a stored string would
fail the database write (for call records, a whole batch of them). Refusing it
at the edge is a 422 for the sender and nothing for anyone else.

JSON can spell a lone UTF-16 surrogate (``"\\ud800"``), and Python's own JSON
reader turns it into a ``str`` that no UTF-8 encoder accepts: not the upstream
request's serialiser, not the database driver. Such text has no meaning in any
encoding a provider takes, so it is refused at the edge too, with the field named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

NO_NUL = r"^[^\x00]*$"

_LONE_SURROGATE_SPELLING = re.compile(
    # A high-surrogate escape not followed by a low one, a low one not preceded by a high
    # one, or a surrogate written out in (invalid) UTF-8 bytes, which Python's JSON reader
    # also decodes. An escaped backslash before "u" can match too: only a hint, then.
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|\xed[\xa0-\xbf]"
)


def may_spell_lone_surrogate(raw: bytes) -> bool:
    """Whether a JSON document's bytes may hold a lone surrogate: a cheap scan that is never
    wrong when it says no. Only when it says yes is the document worth parsing to find out."""
    if b"\\u" not in raw and b"\xed" not in raw:
        return False
    return _LONE_SURROGATE_SPELLING.search(raw) is not None


def unencodable_text(value: object) -> tuple[str | int, ...] | None:
    """Where, in a parsed JSON value, the first string (or object key) that cannot be
    encoded as UTF-8 is, as a path of keys and indexes; None when there is none."""
    for path, text in _strings(value, ()):
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return path
    return None


def _strings(
    value: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def printable_path(path: tuple[str | int, ...]) -> str:
    """A path as the error's ``param`` (``messages.0.content``); a key that is itself the
    bad text is shown escaped, so the error body stays encodable."""
    parts = [str(p).encode("utf-8", "backslashreplace").decode("utf-8") for p in path]
    return ".".join(parts) or "body"
