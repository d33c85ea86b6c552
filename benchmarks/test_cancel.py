"""Cancellation latency: from the client closing its connection to the mock seeing the end.

Three phases: waiting for the first token, upstream stalled mid-stream, and a client that stopped
reading (the service is blocked on a full socket) before it goes away. Samples are taken one at a
time so each client close pairs with exactly one mock record.
"""

from __future__ import annotations

import asyncio

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.endpoints import Endpoint
from benchmarks.report import Report
from ghoststream.harness.backpressure import close, open_unread_stream, wait_until_backpressured
from ghoststream.harness.stats import percentile
from mock_llm.directive import directive


async def _one_sample(mock: Endpoint, service: Endpoint, phase: str) -> float:
    if phase == "waiting for first token":
        prompt = directive(ttft_ms=30_000, tokens=5) + " Think hard."
        record = await service.stream(prompt, abort_after_s=0.1)
        closed_at = record.aborted_at_wall
    elif phase == "stalled upstream":
        prompt = directive(ttft_ms=10, itl_ms=5, tokens=50, fault="stall_midstream", fault_after=3)
        record = await service.stream(prompt + " Go.", abort_after_tokens=3)
        closed_at = record.aborted_at_wall
    else:
        prompt = directive(ttft_ms=0, itl_ms=0, tokens=1_000_000) + " Never stop."
        sock = await open_unread_stream(service.base_url, prompt)
        await wait_until_backpressured(mock.evidence)
        closed_at = close(sock)
    assert closed_at is not None
    seen = await mock.evidence.only_request()
    assert seen["outcome"] == "cancelled", seen
    return float(seen["ended_at"]) - closed_at


async def _samples(mock: Endpoint, service: Endpoint, phase: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        await mock.evidence.reset()
        latencies.append(await _one_sample(mock, service, phase))
    return latencies


@pytest.mark.parametrize(
    "phase", ["waiting for first token", "stalled upstream", "client not reading"]
)
def test_cancellation_latency(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    report: Report,
    quick: bool,
    phase: str,
) -> None:
    count = 2 if quick else (10 if phase == "client not reading" else 40)
    latencies = benchmark.pedantic(
        lambda: asyncio.run(_samples(mock, service, phase, count)), rounds=1, iterations=1
    )
    p50, p99 = (percentile(latencies, q) * 1000 for q in (50, 99))
    benchmark.extra_info.update(p50_ms=p50, p99_ms=p99, samples=len(latencies))
    report.add(f"cancellation: {phase}", "p50", p50, "ms")
    report.add(f"cancellation: {phase}", "p99", p99, "ms", "<= 50 ms", p99 <= 50)
