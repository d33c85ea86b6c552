"""A bounded soak: mixed load with cancels and faults, then nothing may be left behind.

Afterwards no stream is open (service and mock), the service's file descriptors are back to what
they were after warm-up, and its RSS grew by under 10%. `--soak-seconds` runs it longer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import psutil
import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.servers import serve_in_process
from mock_llm.directive import directive
from tests.conftest import FAKE_KEY, MockServer
from tests.scrape import wait_for_metric

WORKERS = 40


def mixed_request(url: str, rng: random.Random) -> Callable[[], Awaitable[StreamRecord]]:
    get = f"{url}/ask-ai"
    kind = rng.choices(["whole", "cancel", "fault", "stall", "refused"], [50, 20, 15, 10, 5])[0]
    if kind == "whole":
        prompt = directive(ttft_ms=rng.randint(0, 50), itl_ms=rng.randint(0, 5), tokens=30)
        return lambda: timed_stream(get, method="GET", params={"prompt": prompt + " Go."})
    if kind == "cancel":
        prompt = directive(ttft_ms=10, itl_ms=5, tokens=500) + " Long."
        after = rng.randint(1, 20)
        return lambda: timed_stream(
            get, method="GET", params={"prompt": prompt}, abort_after_tokens=after
        )
    if kind == "fault":
        fault = rng.choice(["error_midstream", "drop_midstream", "malformed_midstream", "http_500"])
        prompt = directive(ttft_ms=5, itl_ms=2, tokens=20, fault=fault, fault_after=3)
        return lambda: timed_stream(get, method="GET", params={"prompt": prompt + " x"})
    if kind == "stall":
        prompt = directive(ttft_ms=5, itl_ms=2, fault="stall_midstream", fault_after=2) + " x"
        return lambda: timed_stream(get, method="GET", params={"prompt": prompt}, abort_after_s=0.3)
    return lambda: timed_stream(get, method="GET", params={"prompt": "   "})


async def load(url: str, seconds: float, seed: int) -> list[StreamRecord]:
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    records: list[StreamRecord] = []

    async def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        while loop.time() < stop:
            records.append(await mixed_request(url, rng)())

    await asyncio.gather(*(worker(i) for i in range(WORKERS)))
    return records


async def quiet(url: str, mock: MockServer) -> None:
    """Until the mock and the service both hold no open stream."""
    await mock.evidence.requests(wait_until_closed=10)
    await wait_for_metric(url, "ghoststream_open_streams", 0)


def hung(records: list[StreamRecord]) -> list[StreamRecord]:
    return [r for r in records if r.transport_error and "no end" in r.transport_error]


@pytest.mark.slow
async def test_soak_leaves_nothing_behind(mock: MockServer, pytestconfig: pytest.Config) -> None:
    seconds = float(pytestconfig.getoption("--soak-seconds"))
    env = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "warning",
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
        "GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "100000",
        "GHOSTSTREAM_MAX_CONNECTIONS_PER_CLIENT": "0",
    }
    with serve_in_process("service", env=env) as server:
        process = psutil.Process(server.pid)
        warm = await load(server.url, min(5.0, seconds / 4), seed=1)
        await quiet(server.url, mock)
        fds_before, rss_before = process.num_fds(), process.memory_info().rss

        records = await load(server.url, seconds, seed=2)

        await quiet(server.url, mock)
        stats = await mock.evidence.stats()
        fds_after, rss_after = process.num_fds(), process.memory_info().rss
    assert not hung(warm + records), hung(records)[:3]
    assert len(records) > WORKERS * 10, len(records)
    assert stats["open"] == 0, stats
    assert stats["cancelled"] > 0 and stats["faulted"] > 0
    # Pooled keep-alive connections to the mock come and go with the load: allow a few.
    assert fds_after <= fds_before + 8, (fds_before, fds_after)
    assert rss_after < rss_before * 1.10, (rss_before, rss_after)
