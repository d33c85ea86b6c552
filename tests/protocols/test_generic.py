"""The generic SSE format: described by event names, a JSON path and an end marker."""

from __future__ import annotations

import pytest

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.protocols import FORMATS, SSEFormat, decoder_for, register_format

DELTA = SSEFormat(token_event="delta", text_path="t", end_event="end")
STREAM = (
    b'event: delta\nid: 1\ndata: {"t": "Hel"}\n\n'
    b"event: ping\ndata: {}\n\n"
    b'event: delta\nid: 2\ndata: {"t": "lo \\u00e9"}\n\n'
    b'event: end\nid: 3\ndata: {"tokens": 2}\n\n'
    b'event: delta\ndata: {"t": "after the end"}\n\n'
)


@pytest.mark.parametrize("split", [1, 7, len(STREAM)], ids=["byte by byte", "7 bytes", "whole"])
def test_tokens_and_the_end_arrive_however_the_bytes_are_split(split: int) -> None:
    decoder = DELTA()
    texts = [t for i in range(0, len(STREAM), split) for t in decoder.feed(STREAM[i : i + split])]
    assert texts == ["Hel", "lo é"]
    assert decoder.done and decoder.terminal_data == {"tokens": 2}
    assert decoder.event_ids == ["1", "2", "3"]


def test_an_error_event_fails_the_stream_with_its_payload() -> None:
    decoder = DELTA()
    decoder.feed(b'event: delta\ndata: {"t": "a"}\n\nevent: error\ndata: {"code": "boom"}\n\n')
    assert decoder.failure is not None and decoder.failure.kind == "error"
    assert decoder.failure.data == {"code": "boom"}


def test_a_path_into_lists_and_an_end_marker_in_the_data() -> None:
    chat_like = SSEFormat(token_event=None, text_path="choices.0.delta.content", end_data="[DONE]")
    decoder = chat_like()
    texts = decoder.feed(
        b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
        b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    assert texts == ["Hi"] and decoder.done and decoder.terminal_data is None


def test_text_of_the_wrong_type_is_a_malformed_stream() -> None:
    decoder = DELTA()
    decoder.feed(b'event: delta\ndata: {"t": 5}\n\n')
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_a_registered_format_is_read_by_the_recorder() -> None:
    register_format("test-delta", DELTA)
    try:
        record = StreamRecord(started_at=0.0)
        assert StreamRecorder(record, "test-delta").feed(STREAM, 0.5)
        assert record.text == "Hello é" and record.terminal == "done"
        assert isinstance(decoder_for("test-delta"), type(DELTA()))
    finally:
        del FORMATS["test-delta"]


def test_a_built_in_format_cannot_be_replaced() -> None:
    with pytest.raises(ValueError, match="built-in"):
        register_format("chat", DELTA)
