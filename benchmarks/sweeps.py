"""Shared measuring steps of the benchmarks: waves of streams and the mock's own evidence."""

from __future__ import annotations

import asyncio

from benchmarks.endpoints import Endpoint
from benchmarks.load import run_streams
from ghoststream.harness.records import StreamRecord


async def waves(
    endpoints: list[Endpoint], prompt: str, concurrency: int, rounds: int
) -> dict[str, list[StreamRecord]]:
    """`rounds` waves of `concurrency` simultaneous streams per endpoint, endpoints interleaved
    wave by wave so that the machine's noise falls on all of them alike."""
    records: dict[str, list[StreamRecord]] = {e.name: [] for e in endpoints}
    for round_no in range(rounds):
        for endpoint in endpoints:
            label = f"{endpoint.name} c={concurrency} {round_no + 1}/{rounds}"
            batch = await run_streams(
                lambda _i, e=endpoint: e.stream(prompt), concurrency, concurrency, label
            )
            records[endpoint.name].extend(batch)
    return records


def failures(records: list[StreamRecord]) -> list[str]:
    return [
        f"{r.status} {r.error_code or r.transport_error or r.terminal_data}"
        for r in records
        if not r.ok
    ]


async def wait_for_open(mock: Endpoint, count: int, timeout: float = 30.0) -> None:
    """Until the mock holds `count` open streams; benchmarks only, tests long-poll instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await mock.evidence.stats())["open"] < count:
        if loop.time() > deadline:
            raise TimeoutError(f"fewer than {count} streams opened within {timeout} s")
        await asyncio.sleep(0.05)
