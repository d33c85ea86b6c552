"""Shared measuring steps of the benchmarks: waves of streams and the mock's own evidence."""

from __future__ import annotations

import asyncio
import time

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


async def added_ttft_waves(
    mock: Endpoint, relays: list[Endpoint], prompt: str, concurrency: int, rounds: int
) -> dict[str, list[float]]:
    """What each relay adds to each stream's TTFT, in ms, stream by stream: the client's TTFT
    less the mock's own (its first token's send time less its request's arrival), matched by
    request id. Percentiles of these are sound, unlike a difference of two percentiles."""
    await mock.evidence.reset()
    tagged: dict[str, list[tuple[str, StreamRecord]]] = {r.name: [] for r in relays}
    for round_no in range(rounds):
        for relay in relays:

            async def one(i: int, relay: Endpoint = relay) -> StreamRecord:
                rid = f"{relay.name}-{round_no}-{i}".replace(" ", "_")
                record = await relay.stream(prompt, request_id=rid, clock=time.time)
                tagged[relay.name].append((rid, record))
                return record

            label = f"{relay.name} c={concurrency} {round_no + 1}/{rounds}"
            await run_streams(one, concurrency, concurrency, label)
    seen = {
        entry["request_id"]: entry
        for entry in await mock.evidence.requests(wait_until_closed=10)
        if entry["first_token_at"] is not None
    }
    added: dict[str, list[float]] = {}
    for name, pairs in tagged.items():
        bad = [failures([record]) for _, record in pairs if not record.ok]
        assert not bad, (name, bad[:5])
        added[name] = [
            1000 * ((r.token_times[0] - r.started_at) - (e["first_token_at"] - e["started_at"]))
            for rid, r in pairs
            if (e := seen.get(rid)) is not None and r.token_times
        ]
        assert len(added[name]) == len(pairs), f"{name}: streams missing from the mock's ledger"
    return added


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
