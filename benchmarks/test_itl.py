"""Inter-token latency the service adds: client-seen gaps minus the mock's configured gap."""

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
    deviation: dict[str, list[float]] = {}
    for name, batch in records.items():
        assert not failures(batch), (name, failures(batch)[:5])
        deviation[name] = [g * 1000 - ITL_MS for r in batch for g in r.gaps]
    figures = {}
    for q in (50, 99):
        for name, samples in deviation.items():
            report.point(f"ITL error p{q} (ms)", name, concurrency, percentile(samples, q))
        added = percentile(deviation["service"], q) - percentile(deviation["direct"], q)
        figures[f"added_p{q}_ms"] = added
    benchmark.extra_info.update(figures, gaps=len(deviation["service"]))
    label = f"added ITL c={concurrency}"
    report.add(label, "service p50", figures["added_p50_ms"], "ms")
    if concurrency == 100:
        added = figures["added_p99_ms"]
        report.add(label, "service p99", added, "ms", "<= 5 ms", added <= 5)
    else:
        report.add(label, "service p99", figures["added_p99_ms"], "ms")
