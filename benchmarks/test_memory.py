"""Memory per open stream: the service's RSS growth while N streams wait for their first token."""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.load import rss_bytes
from benchmarks.report import Report
from benchmarks.sweeps import wait_for_open
from mock_llm.directive import directive


async def _rss_growth(mock: Endpoint, service: Endpoint, streams: int) -> float:
    assert service.pid is not None
    await mock.evidence.reset()
    await service.stream(directive(ttft_ms=0, tokens=2) + " warm up")
    before = rss_bytes(service.pid)
    prompt = directive(ttft_ms=120_000, tokens=5) + " Take your time."
    tasks = [asyncio.create_task(service.stream(prompt, timeout=180)) for _ in range(streams)]
    try:
        await wait_for_open(mock, streams + 0, timeout=60)
        during = rss_bytes(service.pid)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await mock.evidence.requests(wait_until_closed=10)
    return (during - before) / streams


@pytest.mark.parametrize("streams", [100, 1000])
def test_memory_per_open_stream(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    report: Report,
    quick: bool,
    streams: int,
) -> None:
    streams = min(streams, 20) if quick else streams
    per_stream = benchmark.pedantic(
        lambda: asyncio.run(_rss_growth(mock, service, streams)), rounds=1, iterations=1
    )
    kib = per_stream / 1024
    benchmark.extra_info.update(kib_per_stream=kib, streams=streams)
    report.add(
        f"memory, {streams} open streams", "RSS per stream", kib, "KiB", "<= 64 KiB", kib <= 64
    )
