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
    _report_median(benchmark, report, "SSE encode per event")


def test_sse_decode_one_event(benchmark: BenchmarkFixture, report: Report) -> None:
    decoder = SSEDecoder()
    [event] = benchmark(decoder.feed, WIRE)
    assert event.data == TOKEN_EVENT
    _report_median(benchmark, report, "SSE decode per event")


def _report_median(benchmark: BenchmarkFixture, report: Report, metric: str) -> None:
    """Under pytest-benchmark's `--benchmark-disable` the call runs once, untimed, and
    `benchmark.stats` is None: there is no figure to report."""
    if benchmark.stats is not None:
        report.add("micro", metric, benchmark.stats.stats.median * 1e6, "µs")
