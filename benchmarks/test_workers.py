"""One worker process against two: what `--workers 2` gives when 100 streams start at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.conftest import serve_service
from benchmarks.endpoints import Endpoint
from benchmarks.report import Report
from benchmarks.sweeps import added_ttft_waves
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive


def test_added_ttft_one_worker_vs_two(
    benchmark: BenchmarkFixture, mock: Endpoint, report: Report, quick: bool
) -> None:
    """Per-stream added TTFT, the two set-ups in alternating rounds of one run. On a machine
    whose cores also run the mock and the load generator, a second worker has little to use."""
    concurrency, rounds = (20, 1) if quick else (100, 6)
    prompt = directive(ttft_ms=20, itl_ms=5, tokens=20) + " Say hi."

    def run() -> dict[str, list[float]]:
        with contextlib.ExitStack() as stack:
            relays = [
                dataclasses.replace(
                    stack.enter_context(serve_service(mock, workers=workers)),
                    name=f"{workers} worker{'s' if workers > 1 else ''}",
                )
                for workers in (1, 2)
            ]
            return asyncio.run(added_ttft_waves(mock, relays, prompt, concurrency, rounds))

    added = benchmark.pedantic(run, rounds=1, iterations=1)
    label = f"service workers, added TTFT ({concurrency} at once)"
    for name, samples in added.items():
        report.add(label, f"{name} p50", percentile(samples, 50), "ms")
        report.add(label, f"{name} p99", percentile(samples, 99), "ms")
    ratio = percentile(added["2 workers"], 99) / max(percentile(added["1 worker"], 99), 1.0)
    report.add(label, "p99, 2 workers / 1", ratio, "x")
