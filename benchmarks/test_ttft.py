"""Added time to first token: what the service (and the naive relay) add to the mock's TTFT."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.report import Report
from benchmarks.sweeps import failures, waves
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive

TTFT_MS = 20


@pytest.mark.parametrize("concurrency", [1, 10, 100])
def test_added_ttft(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    naive: Endpoint,
    report: Report,
    quick: bool,
    concurrency: int,
) -> None:
    rounds = 1 if quick else max(3, 400 // concurrency)
    prompt = directive(ttft_ms=TTFT_MS, itl_ms=1, tokens=3) + " Say hi."
    endpoints = [mock, service, naive]
    records = benchmark.pedantic(
        lambda: asyncio.run(waves(endpoints, prompt, concurrency, rounds)), rounds=1, iterations=1
    )
    for name, batch in records.items():
        assert not failures(batch), (name, failures(batch)[:5])
    ttft = {
        name: [r.ttft * 1000 for r in batch if r.ttft is not None]
        for name, batch in records.items()
    }
    figures: dict[str, float] = {}
    for q in (50, 99):
        direct = percentile(ttft["direct"], q)
        for name in ("service", "naive"):
            added = percentile(ttft[name], q) - direct
            figures[f"{name}_added_p{q}_ms"] = added
            report.point(f"added TTFT p{q} (ms)", name, concurrency, added)
        for name, samples in ttft.items():
            report.point(f"TTFT p{q} (ms)", name, concurrency, percentile(samples, q))
    benchmark.extra_info.update(figures, samples=len(ttft["direct"]))

    label = f"added TTFT c={concurrency}"
    if concurrency == 1:
        added = figures["service_added_p50_ms"]
        report.add(label, "service p50", added, "ms", "<= 2 ms", added <= 2)
    else:
        report.add(label, "service p50", figures["service_added_p50_ms"], "ms")
    if concurrency == 100:
        added = figures["service_added_p99_ms"]
        report.add(label, "service p99", added, "ms", "<= 10 ms", added <= 10)
    else:
        report.add(label, "service p99", figures["service_added_p99_ms"], "ms")
    report.add(label, "naive p50", figures["naive_added_p50_ms"], "ms")
