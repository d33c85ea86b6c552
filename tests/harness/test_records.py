"""The recorder turns bytes and timestamps into what a client saw, in every stream format."""

from __future__ import annotations

import json

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.protocols.sse import encode_event


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n"


def test_ghoststream_format_times_tokens_and_keeps_the_terminal_event() -> None:
    recorder = StreamRecorder(StreamRecord(started_at=10.0), "ghoststream")
    assert not recorder.feed(encode_event(json.dumps({"text": "Hel"}), "token", 1), 10.2)
    assert not recorder.feed(encode_event(json.dumps({"text": "lo"}), "token", 2), 10.25)
    done = {"finish_reason": "stop", "usage": {"completion_tokens": 2}}
    assert recorder.feed(encode_event(json.dumps(done), "done", 3), 10.3)
    record = recorder.finish(10.31)
    assert record.text == "Hello" and record.ok
    assert record.ttft is not None and abs(record.ttft - 0.2) < 1e-9
    assert record.event_ids == ["1", "2", "3"]
    assert record.usage == {"completion_tokens": 2}


def test_service_error_event_is_a_failure_with_its_code() -> None:
    recorder = StreamRecorder(StreamRecord(started_at=0.0), "ghoststream")
    recorder.feed(encode_event(json.dumps({"code": "rate_limited"}), "error", 1), 0.1)
    record = recorder.finish(0.1)
    assert not record.ok and record.error_code == "rate_limited"


def test_chat_dialect_skips_empty_deltas_and_stops_at_done() -> None:
    recorder = StreamRecorder(StreamRecord(started_at=0.0), "chat")
    recorder.feed(_chunk(""), 0.05)
    recorder.feed(_chunk("Hi") + _chunk(" there"), 0.1)
    recorder.feed(_chunk(finish="stop"), 0.2)
    assert recorder.feed(b"data: [DONE]\n\n", 0.2)
    record = recorder.finish(0.2)
    assert record.text == "Hi there" and record.tokens == 2 and record.ok


def test_a_stream_that_just_ends_is_not_ok() -> None:
    recorder = StreamRecorder(StreamRecord(started_at=0.0), "chat")
    recorder.feed(_chunk("partial"), 0.1)
    assert not recorder.finish(0.2).ok
