"""The latency probe, pointed at the mock by default or at `--target-url` when given."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.probe import format_summary, probe, probe_url
from benchmarks.report import Report
from mock_llm.directive import directive


def test_probe_target(
    benchmark: BenchmarkFixture,
    pytestconfig: pytest.Config,
    mock: Endpoint,
    report: Report,
    quick: bool,
) -> None:
    target = pytestconfig.getoption("--target-url")
    base_url = target or f"{mock.base_url}/v1"
    key = pytestconfig.getoption("--target-key") if target else None
    model = pytestconfig.getoption("--target-model")
    prompt = "Write three sentences about rivers."
    if not target:
        prompt = directive(ttft_ms=100, itl_ms=10, tokens=20) + " " + prompt
    streams = 4 if quick else 40
    api = pytestconfig.getoption("--target-api")
    stream_format = pytestconfig.getoption("--target-format")
    if target and stream_format:  # your own route, in your own format
        run = probe_url(target, stream_format, None, streams, min(streams, 8))
    else:
        run = probe(base_url, key, model, prompt, streams, min(streams, 8), api=api)
    summary, _ = benchmark.pedantic(lambda: asyncio.run(run), rounds=1, iterations=1)
    assert summary.failed == 0, format_summary(summary)
    benchmark.extra_info.update(ttft_p50_ms=summary.ttft.p50, itl_p50_ms=summary.itl.p50)
    where = "target" if target else "mock (100 ms TTFT, 10 ms ITL)"
    report.add(f"probe: {where}", "TTFT p50", summary.ttft.p50, "ms")
    report.add(f"probe: {where}", "TTFT p99", summary.ttft.p99, "ms")
    report.add(f"probe: {where}", "ITL p50", summary.itl.p50, "ms")
    report.add(f"probe: {where}", "TPOT p50", summary.tpot.p50, "ms")
