"""Several worker processes on one socket: all serve, and metrics add up across them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psutil
import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import RunningProcess, serve_in_process
from mock_llm.directive import directive
from tests.conftest import MockServer, service_env
from tests.scrape import metric

WORKERS = 2
STREAMS = 40


@pytest.fixture(scope="module")
def two_workers(
    mock_process: RunningProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProcess]:
    metrics_dir = tmp_path_factory.mktemp("metrics")
    env = service_env(
        mock_process.url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), LOG_LEVEL="warning"
    )
    with serve_in_process("service", ["--workers", str(WORKERS)], env=env) as server:
        yield server


def worker_pids(server: RunningProcess) -> set[int]:
    """uvicorn's workers: the children multiprocessing spawned (not its resource tracker)."""
    children = psutil.Process(server.pid).children()
    return {child.pid for child in children if "spawn_main" in " ".join(child.cmdline())}


async def test_every_worker_serves_and_metrics_add_up_across_them(
    two_workers: RunningProcess, mock: MockServer
) -> None:
    assert len(worker_pids(two_workers)) == WORKERS
    prompt = directive(ttft_ms=0, itl_ms=20, tokens=5) + " Hi."
    records = await asyncio.gather(
        *(
            timed_stream(f"{two_workers.url}/ask-ai", method="GET", params={"prompt": prompt})
            for _ in range(STREAMS)
        )
    )
    assert all(record.terminal == "done" and record.tokens == 5 for record in records)
    # Each scrape is a new connection, answered by whichever worker accepts it: all agree.
    done = {
        await metric(two_workers.url, 'ghoststream_streams_total{outcome="done"}') for _ in range(6)
    }
    assert done == {float(STREAMS)}
    tokens = await metric(two_workers.url, "ghoststream_tokens_relayed_total")
    assert tokens == 5 * STREAMS
    assert await metric(two_workers.url, "ghoststream_open_streams") == 0
