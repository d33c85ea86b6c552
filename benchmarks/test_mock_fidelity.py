"""The mock's timing fidelity and CPU cost: TTFT and ITL error against its configured schedule."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.load import CpuMeter
from benchmarks.report import Report
from benchmarks.sweeps import failures, waves
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive

TTFT_MS, ITL_MS = 200, 50


@pytest.mark.parametrize("concurrency", [1, 100, 1000])
def test_mock_timing_fidelity(
    benchmark: BenchmarkFixture, mock: Endpoint, report: Report, quick: bool, concurrency: int
) -> None:
    concurrency = min(concurrency, 20) if quick else concurrency
    tokens = 5 if quick else 20
    rounds = 1 if quick else max(1, 30 // concurrency)  # c=1: 30 sequential streams
    prompt = directive(ttft_ms=TTFT_MS, itl_ms=ITL_MS, tokens=tokens) + " Be precise."
    meter = CpuMeter({"mock": mock.pid or 0})

    def run() -> list:
        meter.start()
        records = asyncio.run(waves([mock], prompt, concurrency, rounds))["direct"]
        meter.stop()
        return records

    records = benchmark.pedantic(run, rounds=1, iterations=1)
    assert not failures(records), failures(records)[:5]
    ttft_error = [r.ttft * 1000 - TTFT_MS for r in records if r.ttft is not None]
    # The mock answers headers on receipt and the first token TTFT later: headers -> first token
    # is its schedule, free of the time one client process takes to open N connections at once.
    schedule_error = [
        (r.token_times[0] - r.headers_at) * 1000 - TTFT_MS
        for r in records
        if r.token_times and r.headers_at is not None
    ]
    itl_error = [g * 1000 - ITL_MS for r in records for g in r.gaps]
    assert meter.spent is not None
    spent = meter.spent["mock"]  # 0 when under psutil's 10 ms tick, in a quick run
    tokens_per_cpu_s = sum(r.tokens for r in records) / spent if spent else float("inf")
    figures = {
        "ttft_error_p50_ms": percentile(ttft_error, 50),
        "ttft_error_p99_ms": percentile(ttft_error, 99),
        "schedule_ttft_error_p50_ms": percentile(schedule_error, 50),
        "schedule_ttft_error_p99_ms": percentile(schedule_error, 99),
        "itl_error_p50_ms": percentile(itl_error, 50),
        "itl_error_p99_ms": percentile(itl_error, 99),
        "tokens_per_cpu_second": tokens_per_cpu_s,
    }
    benchmark.extra_info.update(figures)
    for q in (50, 99):
        report.point(
            f"mock TTFT error p{q} (ms)", "direct", concurrency, figures[f"ttft_error_p{q}_ms"]
        )
    label = f"mock fidelity c={concurrency}"
    report.add(label, "client-seen TTFT error p50", figures["ttft_error_p50_ms"], "ms")
    report.add(label, "client-seen TTFT error p99", figures["ttft_error_p99_ms"], "ms")
    report.add(label, "schedule TTFT error p50", figures["schedule_ttft_error_p50_ms"], "ms")
    p99 = figures["schedule_ttft_error_p99_ms"]
    if concurrency == 1000:
        report.add(label, "schedule TTFT error p99", p99, "ms", "< 25 ms", p99 < 25)
    else:
        report.add(label, "schedule TTFT error p99", p99, "ms")
    report.add(label, "ITL error p50", figures["itl_error_p50_ms"], "ms")
    report.add(label, "ITL error p99", figures["itl_error_p99_ms"], "ms")
    report.add(label, "mock tokens per CPU-second", tokens_per_cpu_s, "tok/s")
