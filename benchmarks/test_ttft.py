"""Added time to first token: what the service, the naive relay and nginx add to the mock's TTFT."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.report import Report
from benchmarks.sweeps import added_ttft_waves
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive

TTFT_MS = 20


@pytest.mark.parametrize("concurrency", [1, 10, 100])
def test_added_ttft(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    naive: Endpoint,
    nginx: Endpoint | None,
    report: Report,
    quick: bool,
    concurrency: int,
) -> None:
    """Per stream: the client's TTFT less the mock's own for that very stream (matched by
    request id), so each figure is a percentile of real per-stream overheads."""
    rounds = 1 if quick else max(3, 400 // concurrency)
    prompt = directive(ttft_ms=TTFT_MS, itl_ms=1, tokens=3) + " Say hi."
    relays = [e for e in (service, naive, nginx) if e is not None]
    added = benchmark.pedantic(
        lambda: asyncio.run(added_ttft_waves(mock, relays, prompt, concurrency, rounds)),
        rounds=1,
        iterations=1,
    )
    figures: dict[str, float] = {}
    for name, samples in added.items():
        for q in (50, 99):
            figures[f"{name}_added_p{q}_ms"] = value = percentile(samples, q)
            report.point(f"added TTFT p{q} (ms)", name, concurrency, value)
    benchmark.extra_info.update(figures, samples=len(added["service"]))

    label = f"added TTFT c={concurrency}"
    service_p50, service_p99 = figures["service_added_p50_ms"], figures["service_added_p99_ms"]
    if concurrency == 1:
        report.add(label, "service p50", service_p50, "ms", "<= 2 ms", service_p50 <= 2)
    else:
        report.add(label, "service p50", service_p50, "ms")
    if concurrency == 100:
        report.add(label, "service p99", service_p99, "ms", "<= 10 ms", service_p99 <= 10)
    else:
        report.add(label, "service p99", service_p99, "ms")
    report.add(label, "naive p50", figures["naive_added_p50_ms"], "ms")
    if nginx is not None:
        nginx_p99 = figures["nginx_added_p99_ms"]
        report.add(label, "nginx p50", figures["nginx_added_p50_ms"], "ms")
        report.add(label, "nginx p99", nginx_p99, "ms")
        if concurrency == 100:
            ratio = service_p99 / max(nginx_p99, 1.0)  # below 1 ms, 1 ms: not a noise ratio
            report.add(label, "service p99 / nginx p99", ratio, "x", "<= 2", ratio <= 2)
