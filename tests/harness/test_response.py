"""The shared HTTP response reader, fed bytes: status, refusals' Retry-After, error bodies."""

from __future__ import annotations

import pytest

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.harness.response import ResponseReader


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"Retry-After: 2\r\n", 2.0),
        (b"retry-after-ms: 250\r\nretry-after: 1\r\n", 0.25),
        (b"Retry-After: soon\r\n", None),
        (b"", None),
    ],
    ids=["seconds", "milliseconds-first", "unreadable", "absent"],
)
def test_a_refusal_keeps_the_wait_it_asks_for(headers: bytes, expected: float | None) -> None:
    record = StreamRecord(started_at=0.0)
    reader = ResponseReader(StreamRecorder(record))
    body = b'{"error": {"code": "rate_limit_exceeded"}}'
    head = b"HTTP/1.1 429 Too Many Requests\r\n" + headers
    reader.feed(head + b"Content-Length: %d\r\n\r\n" % len(body) + body, 1.0)
    assert record.status == 429 and reader.complete
    assert record.retry_after == expected
    assert record.terminal_data == {"status": 429, "body": body.decode()}
