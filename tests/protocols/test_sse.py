"""The SSE codec, tested without sockets: every split point, every line ending, round trips."""

from __future__ import annotations

import json

import pytest

from ghoststream.protocols.sse import (
    ServerSentEvent,
    SSEDecoder,
    decode_all,
    encode_comment,
    encode_event,
)

STREAM = (
    encode_event(json.dumps({"text": "héllo 👋"}), "token", 1)
    + encode_comment("heartbeat")
    + encode_event("line one\nline two", None, None)
    + encode_event(json.dumps({"finish_reason": "stop"}), "done", 2)
)
EXPECTED = [
    ServerSentEvent("token", json.dumps({"text": "héllo 👋"}), "1"),
    ServerSentEvent("message", "line one\nline two", "1"),
    ServerSentEvent("done", json.dumps({"finish_reason": "stop"}), "2"),
]


@pytest.mark.parametrize("line_ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_two_way_split_decodes_the_same_events(line_ending: bytes) -> None:
    """Bytes split anywhere, even inside a UTF-8 character or a CRLF pair, decode identically."""
    stream = STREAM.replace(b"\n", line_ending)
    for cut in range(len(stream) + 1):
        assert list(decode_all([stream[:cut], stream[cut:]])) == EXPECTED, cut


def test_byte_at_a_time_decodes_the_same_events() -> None:
    assert list(decode_all(STREAM[i : i + 1] for i in range(len(STREAM)))) == EXPECTED


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"data: a\ndata: b\n\n", [ServerSentEvent(data="a\nb")]),
        (b"data:no-space\n\n", [ServerSentEvent(data="no-space")]),
        (b"data:  two spaces\n\n", [ServerSentEvent(data=" two spaces")]),
        (b": just a comment\n\n", []),
        (b"event: x\n\n", [ServerSentEvent(event="x")]),
        (b"data: a\n", []),
        (b"retry: 500\ndata: a\n\n", [ServerSentEvent(data="a", retry=500)]),
        (b"retry: soon\ndata: a\n\n", [ServerSentEvent(data="a")]),
        (
            b"id: 7\ndata: a\n\ndata: b\n\n",
            [ServerSentEvent(data="a", id="7")] * 1 + [ServerSentEvent(data="b", id="7")],
        ),
        (b"unknown: field\ndata: a\n\n", [ServerSentEvent(data="a")]),
        (b"data\n\n", [ServerSentEvent(data="")]),
    ],
    ids=[
        "multi-line data joins with LF",
        "a missing space after the colon is allowed",
        "only one leading space is stripped",
        "a comment dispatches nothing",
        "an event with no data still dispatches",
        "an unterminated event is not dispatched",
        "retry is kept when numeric",
        "retry is ignored when not numeric",
        "the last id carries over to later events",
        "unknown fields are ignored",
        "a field with no colon has an empty value",
    ],
)
def test_decoder_follows_the_event_stream_rules(
    wire: bytes, expected: list[ServerSentEvent]
) -> None:
    assert list(decode_all([wire])) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "a\nb",
        "\n\nblank lines\n\n",
        "trailing\n",
        "<b>markup</b> & 'quotes'",
        "日本語 🎉",
    ],
)
def test_encoded_text_round_trips(text: str) -> None:
    [event] = decode_all([encode_event(text, "token", 3)])
    assert (event.event, event.data, event.id) == ("token", text, "3")


def test_carriage_returns_become_line_feeds_because_the_wire_cannot_keep_them() -> None:
    """Why the service sends text as JSON: raw CR in a data line is a line break on the wire."""
    [event] = decode_all([encode_event("a\r\nb\rc", None)])
    assert event.data == "a\nb\nc"


def test_comment_encoding() -> None:
    assert encode_comment() == b":\n\n"
    assert encode_comment("hb") == b": hb\n\n"
    assert list(decode_all([encode_comment("hb")])) == []


def test_decoder_keeps_state_across_feeds() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: tok") == []
    assert decoder.feed(b"en\ndata: {}\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent(event="token", data="{}")]
