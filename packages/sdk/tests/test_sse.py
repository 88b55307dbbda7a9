"""The SSE decoder against the spec's corner cases and every possible byte split."""

from __future__ import annotations

import pytest

from saasllm import ServerSentEvent, SSEDecoder


def decode(*parts: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for part in parts:
        events.extend(decoder.feed(part))
    events.extend(decoder.end())
    return events


def datas(*parts: bytes) -> list[str]:
    return [e.data for e in decode(*parts)]


def test_single_event() -> None:
    assert decode(b'data: {"a": 1}\n\n') == [ServerSentEvent(data='{"a": 1}')]


def test_multibyte_utf8_split_at_every_offset() -> None:
    payload = "data: héllo wörld — 日本語 🎉\n\nevent: x\ndata: ✓\n\n".encode()
    expected = decode(payload)
    assert [e.data for e in expected] == ["héllo wörld — 日本語 🎉", "✓"]
    for cut in range(len(payload) + 1):
        assert decode(payload[:cut], payload[cut:]) == expected, cut


def test_one_byte_at_a_time() -> None:
    payload = "id: 7\r\ndata: ä\r\ndata: b\r\n\r\n: ping\r\n\r\n".encode()
    assert decode(*(payload[i : i + 1] for i in range(len(payload)))) == decode(payload)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings(newline: bytes) -> None:
    body = newline.join([b"data: one", b"", b"data: two", b"data: three", b"", b""])
    assert datas(body) == ["one", "two\nthree"]


def test_crlf_split_between_cr_and_lf() -> None:
    # The "\n" of a "\r\n" arrives in the next read: it must not count as a second line end.
    assert datas(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == ["a", "b"]


def test_lone_cr_at_end_of_read_then_data() -> None:
    assert datas(b"data: a\r\r", b"data: b\r\r") == ["a", "b"]


def test_leading_bom_is_stripped_once() -> None:
    assert datas(b"\xef\xbb\xbfdata: first\n\n") == ["first"]
    # Split inside the BOM itself.
    assert datas(b"\xef", b"\xbb\xbfdata: first\n\n") == ["first"]
    # Only at the very start.
    assert datas(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == ["a"]


def test_comments_are_ignored() -> None:
    assert datas(b": ping\n\n: ping - 2026\ndata: x\n\n: ping\n\n") == ["x"]


def test_multiline_data_joined_with_newline() -> None:
    assert datas(b"data: a\ndata:b\ndata:  c\n\n") == ["a\nb\n c"]
    assert datas(b"data: a\ndata: b\ndata: c\n\n") == ["a\nb\nc"]


def test_only_one_space_after_colon_is_removed() -> None:
    assert datas(b"data:  two spaces\n\n") == [" two spaces"]


def test_id_lines_do_not_create_spurious_events() -> None:
    # httpx-sse 0.4.3 and openai-python emit extra empty events here.
    events = decode(b"id: 1\ndata: a\n\n\n: ping\n\nid: 2\n\n\n\ndata: b\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "2")]


def test_id_persists_and_nul_ids_are_ignored() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 5\ndata: a\n\ndata: b\n\nid: x\x00y\ndata: c\n\n")
    assert [e.id for e in events] == ["5", "5", "5"]
    assert decoder.last_event_id == "5"


def test_event_only_block_is_not_dispatched_and_type_resets() -> None:
    events = decode(b"event: ping\n\ndata: x\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "x")]


def test_event_error() -> None:
    body = b'event: error\ndata: {"error": {"type": "upstream_error"}}\n\n'
    (event,) = decode(body)
    assert event.event == "error"
    assert event.json() == {"error": {"type": "upstream_error"}}


def test_empty_data_line_dispatches_empty_string_per_spec() -> None:
    # The spec dispatches "data:" with an empty value; the stream layer skips it.
    assert datas(b"data:\n\n") == [""]
    assert datas(b"data\n\n") == [""]


def test_retry_field() -> None:
    (event,) = decode(b"retry: 1500\ndata: x\n\n")
    assert event.retry == 1500
    (event,) = decode(b"retry: 15x\ndata: x\n\n")
    assert event.retry is None


def test_unknown_fields_ignored() -> None:
    assert datas(b"foo: bar\ndata: x\nbaz\n\n") == ["x"]


def test_unicode_line_separators_are_not_line_ends() -> None:
    assert datas("data: a\u2028b\u2029c\x85d\n\n".encode()) == ["a\u2028b\u2029c\x85d"]


def test_unterminated_event_at_end_is_discarded() -> None:
    assert datas(b"data: a\n\ndata: partial\n") == ["a"]
    assert datas(b"data: a\n\ndata: partial") == ["a"]


def test_final_blank_line_without_newline_at_eof() -> None:
    # "data: x\n" then EOF: no blank line, so no event.
    assert datas(b"data: x\n") == []
    # "data: x\n\r" ends with a lone CR that is a complete blank line.
    assert datas(b"data: x\n\r") == ["x"]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert datas(b"data: a\xffb\n\n") == ["a\ufffdb"]


def test_long_line_in_many_pieces() -> None:
    line = b"data: " + b"x" * 10_000 + b"\n\n"
    parts = [line[i : i + 7] for i in range(0, len(line), 7)]
    assert datas(*parts) == ["x" * 10_000]
