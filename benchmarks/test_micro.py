"""Per-call costs on the hot path: SSE encoding and decoding of one token event."""

from __future__ import annotations

import json

from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.report import Report
from ghoststream.protocols.sse import SSEDecoder, encode_event

TOKEN_EVENT = json.dumps({"text": " streaming"})
WIRE = encode_event(TOKEN_EVENT, "token", 42)


def test_sse_encode_one_event(benchmark: BenchmarkFixture, report: Report) -> None:
    result = benchmark(encode_event, TOKEN_EVENT, "token", 42)
    assert result == WIRE
    report.add("micro", "SSE encode per event", benchmark.stats.stats.median * 1e6, "µs")


def test_sse_decode_one_event(benchmark: BenchmarkFixture, report: Report) -> None:
    decoder = SSEDecoder()
    [event] = benchmark(decoder.feed, WIRE)
    assert event.data == TOKEN_EVENT
    report.add("micro", "SSE decode per event", benchmark.stats.stats.median * 1e6, "µs")
