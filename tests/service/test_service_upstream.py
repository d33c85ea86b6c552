"""The upstream chunk parser and failure classification, with no sockets."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from mock_llm.wire import DONE, ChunkWriter, error_event
from service.upstream import ChunkParser, classify, retry_after_s


def openai_stream(texts: list[str], include_usage: bool = True) -> bytes:
    writer = ChunkWriter("chatcmpl-1", 1, "m", include_usage)
    body = writer.role() + b"".join(writer.content(t) for t in texts) + writer.finish("stop")
    if include_usage:
        body += writer.usage(5, len(texts))
    return body + DONE


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000], ids=lambda n: f"read size {n}")
def test_texts_come_out_whole_whatever_the_read_size(size: int) -> None:
    texts = ["Hé", " there", "\n\n", " 東京", " \r\n<b>"]
    body = openai_stream(texts)
    parser = ChunkParser()
    out: list[str] = []
    for start in range(0, len(body), size):
        out.extend(parser.feed(body[start : start + size]))
    assert out == texts
    assert parser.done and parser.finish_reason == "stop"
    assert parser.usage is not None and parser.usage["completion_tokens"] == len(texts)


def test_an_in_stream_error_is_upstream_error_after_the_text_before_it() -> None:
    parser = ChunkParser()
    texts = parser.feed(ChunkWriter("c", 1, "m", False).content("a") + error_event("boom"))
    assert texts == ["a"]
    assert parser.failure is not None and parser.failure.code == "upstream_error"
    assert "boom" not in str(parser.failure)  # upstream wording is never kept
    assert parser.feed(b"data: {}\n\n") == []  # nothing is read after a failure


@pytest.mark.parametrize(
    "data",
    ["{not json", "[1, 2]", '{"choices": [{"delta": 5}]}', '{"choices": [{}]}', "null"],
    ids=["invalid JSON", "not an object", "delta not an object", "no delta", "null"],
)
def test_unreadable_chunks_are_upstream_malformed(data: str) -> None:
    parser = ChunkParser()
    assert parser.feed(f"data: {data}\n\n".encode()) == []
    assert parser.failure is not None and parser.failure.code == "upstream_malformed"


def test_nothing_after_done_is_read() -> None:
    parser = ChunkParser()
    assert parser.feed(DONE + b"data: {garbage\n\n") == []
    assert parser.done


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({}, None),
    ],
)
def test_retry_after_prefers_milliseconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(CIMultiDict(headers)) == expected


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "rate_limited"),
        (401, "upstream_auth"),
        (403, "upstream_auth"),
        (500, "upstream_unavailable"),
        (503, "upstream_unavailable"),
        (400, "upstream_rejected"),
        (404, "upstream_rejected"),
    ],
)
def test_statuses_map_to_codes_without_upstream_text(status: int, code: str) -> None:
    failure = classify(status, CIMultiDict({"Retry-After": "1"}))
    assert failure.code == code
    assert str(failure) == f"{code}: HTTP {status}"  # nothing from the upstream's body
