"""The rule for text no encoder takes: the cheap scan never misses a lone surrogate however a
JSON writer spells it, and the walk names the field it is in."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from saasllm_schema.text import may_spell_lone_surrogate, printable_path, unencodable_text

# Text with everything in it: ASCII, other planes, and (sometimes) lone surrogates.
_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


@given(_json)
def test_the_scan_never_misses_what_the_walk_finds(document: Any) -> None:
    found = unencodable_text(document)
    assert (found is not None) == _has_surrogate(document)
    escaped = json.dumps(document).encode()  # every non-ASCII character as \uXXXX
    raw = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for spelling in (escaped, raw):
        # What the server's JSON reader makes of it (adjacent surrogates may pair up).
        if unencodable_text(json.loads(spelling)) is not None:
            assert may_spell_lone_surrogate(spelling)


def test_a_surrogate_pair_is_not_a_hint_and_names_are_printable() -> None:
    assert not may_spell_lone_surrogate(json.dumps({"m": "smile \U0001f600"}).encode())
    assert not may_spell_lone_surrogate('{"m": "Hangul \ud55c"}'.encode())
    assert may_spell_lone_surrogate(rb'{"m": "a\ud800b"}')
    assert may_spell_lone_surrogate(rb'{"m": "\udc00 low first"}')
    document = json.loads(rb'{"messages": [{"content": [{"text": "ok"}, {"text": "a\udfffb"}]}]}')
    path = unencodable_text(document)
    assert path == ("messages", 0, "content", 1, "text")
    assert printable_path(path) == "messages.0.content.1.text"
    key = unencodable_text(json.loads(rb'{"metadata": {"\ud800": 1}}'))
    assert key is not None
    assert printable_path(key) == "metadata.\\ud800"
    assert printable_path(()) == "body"
