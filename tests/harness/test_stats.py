"""Percentiles and the vLLM-style summary, from raw records."""

from __future__ import annotations

import math

import pytest

from ghoststream.harness.records import StreamRecord
from ghoststream.harness.stats import Distribution, percentile, summarize, tpot


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        ([1.0], 50, 1.0),
        ([1.0, 2.0], 50, 1.5),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([float(i) for i in range(101)], 99, 99.0),
        ([float(i) for i in range(1001)], 99.9, 999.0),
        ([0.0, 10.0], 90, 9.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    samples: list[float], q: float, expected: float
) -> None:
    assert percentile(samples, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_distribution_reports_milliseconds() -> None:
    dist = Distribution.of_seconds([0.001, 0.002, 0.003])
    assert (dist.count, dist.p50, dist.mean) == (3, pytest.approx(2.0), pytest.approx(2.0))


def _record(start: float, times: list[float], end: float, terminal: str = "done") -> StreamRecord:
    record = StreamRecord(started_at=start, token_times=times, texts=["x"] * len(times))
    record.terminal, record.ended_at = terminal, end
    return record


def test_tpot_excludes_the_first_token() -> None:
    assert tpot(_record(0.0, [0.5, 0.6, 0.7], 0.9)) == pytest.approx((0.9 - 0.5) / 2)


def test_summary_pools_gaps_and_counts_failures_and_goodput() -> None:
    records = [
        _record(0.0, [0.1, 0.2, 0.4], 0.4),
        _record(0.0, [0.3, 0.4], 0.5),
        _record(0.0, [0.1], 0.2, terminal="error"),
    ]
    summary = summarize(records, ttft_slo_s=0.2)
    assert summary.streams == 3 and summary.failed == 1
    assert summary.itl.count == 3  # gaps 0.1, 0.2 and 0.1, pooled
    assert summary.ttft.p50 == pytest.approx(200.0)
    assert summary.output_tokens == 5
    assert summary.goodput == pytest.approx(1 / 3)


def test_goodput_share_and_rate_count_the_same_streams_under_both_slos() -> None:
    """TTFT 0.1 s and TPOT 0.1 s meets both; TTFT 0.3 s misses the first; TPOT 0.4 s the second."""
    records = [
        _record(0.0, [0.1, 0.2, 0.3], 0.3),
        _record(0.0, [0.3, 0.4], 0.4),
        _record(0.0, [0.1, 0.5], 0.5),
    ]
    summary = summarize(records, ttft_slo_s=0.2, tpot_slo_s=0.16)
    assert summary.met_slo == 1
    assert summary.goodput == pytest.approx(1 / 3)
    assert summary.goodput_per_s == pytest.approx(1 / 0.5)  # one stream in the run's 0.5 s
