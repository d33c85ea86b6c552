"""Inter-token latency through the service: each client-seen gap less the gap the mock was
asked for, per gap, next to the same from the mock direct (whose own error is in both)."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.report import Report
from benchmarks.sweeps import failures, waves
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive

ITL_MS = 20


@pytest.mark.parametrize("concurrency", [1, 100, 500])
def test_added_itl(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    report: Report,
    quick: bool,
    concurrency: int,
) -> None:
    concurrency = min(concurrency, 20) if quick else concurrency
    tokens = 5 if quick else 40
    rounds = 1 if quick else max(2, 20 // concurrency)  # c=1: 20 sequential streams
    prompt = directive(ttft_ms=20, itl_ms=ITL_MS, tokens=tokens) + " Keep talking."
    records = benchmark.pedantic(
        lambda: asyncio.run(waves([mock, service], prompt, concurrency, rounds)),
        rounds=1,
        iterations=1,
    )
    # Per gap: what the client saw less what the schedule asked for. Each sample is sound;
    # a difference of two percentiles (service p50 less direct p50) is not, and went negative.
    error: dict[str, list[float]] = {}
    for name, batch in records.items():
        assert not failures(batch), (name, failures(batch)[:5])
        error[name] = [g * 1000 - ITL_MS for r in batch for g in r.gaps]
    figures = {
        f"{name}_gap_error_p{q}_ms": percentile(samples, q)
        for name, samples in error.items()
        for q in (50, 99)
    }
    for q in (50, 99):
        for name, samples in error.items():
            report.point(
                f"ITL error p{q} (ms)", name, concurrency, figures[f"{name}_gap_error_p{q}_ms"]
            )
    benchmark.extra_info.update(figures, gaps=len(error["service"]))
    label = f"ITL, client gap - scheduled {ITL_MS} ms, c={concurrency}"
    report.add(label, "through the service p50", figures["service_gap_error_p50_ms"], "ms")
    p99 = figures["service_gap_error_p99_ms"]
    if concurrency == 100:  # the mock's own error is in it too: stricter than service alone
        report.add(label, "through the service p99", p99, "ms", "<= 5 ms", p99 <= 5)
    else:
        report.add(label, "through the service p99", p99, "ms")
    report.add(label, "from the mock direct p50", figures["direct_gap_error_p50_ms"], "ms")
    report.add(label, "from the mock direct p99", figures["direct_gap_error_p99_ms"], "ms")
