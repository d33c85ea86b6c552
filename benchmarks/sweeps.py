"""Shared measuring steps of the benchmarks: waves of streams and the mock's own evidence."""

from __future__ import annotations

import asyncio

from benchmarks.endpoints import Endpoint
from benchmarks.load import run_streams
from ghoststream.harness.records import StreamRecord


def _request_id(endpoint: Endpoint, round_no: int, index: int) -> str:
    return f"{endpoint.name}-{round_no}-{index}".replace(" ", "_")


async def waves(
    endpoints: list[Endpoint], prompt: str, concurrency: int, rounds: int
) -> dict[str, list[StreamRecord]]:
    """`rounds` waves of `concurrency` simultaneous streams per endpoint, endpoints interleaved
    wave by wave so that the machine's noise falls on all of them alike. Each stream carries a
    request id (`_request_id`), so the mock's record of it can be found."""
    records: dict[str, list[StreamRecord]] = {e.name: [] for e in endpoints}
    for round_no in range(rounds):
        for endpoint in endpoints:
            label = f"{endpoint.name} c={concurrency} {round_no + 1}/{rounds}"
            batch = await run_streams(
                lambda i, e=endpoint, n=round_no: e.stream(prompt, request_id=_request_id(e, n, i)),
                concurrency,
                concurrency,
                label,
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
    records = await waves(relays, prompt, concurrency, rounds)
    seen = {
        entry["request_id"]: entry
        for entry in await mock.evidence.requests(wait_until_closed=10)
        if entry["first_token_at"] is not None
    }
    added: dict[str, list[float]] = {}
    for relay in relays:
        batch = records[relay.name]
        assert not failures(batch), (relay.name, failures(batch)[:5])
        ids = [_request_id(relay, n, i) for n in range(rounds) for i in range(concurrency)]
        added[relay.name] = [
            1000 * ((r.token_times[0] - r.started_at) - (e["first_token_at"] - e["started_at"]))
            for rid, r in zip(ids, batch, strict=True)
            if (e := seen.get(rid)) is not None and r.token_times
        ]
        assert len(added[relay.name]) == len(batch), (
            f"{relay.name}: streams missing from the ledger"
        )
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
