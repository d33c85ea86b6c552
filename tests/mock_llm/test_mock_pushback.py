"""Mock parity for load tests: `--max-concurrency` pushes back with 429, `/metrics` shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.servers import RunningProcess, serve_in_process
from mock_llm.directive import directive
from tests.conftest import FAKE_KEY

LONG = directive(ttft_ms=0, itl_ms=100, tokens=1000) + " Long."


@pytest.fixture(scope="module")
def busy_mock() -> Iterator[RunningProcess]:
    with serve_in_process("mock_llm", ["--log-level", "warning", "--max-concurrency", "2"]) as mock:
        yield mock


async def hold(url: str, opened: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream(
            "POST", f"{url}/v1/chat/completions", json=openai_body(LONG)
        ) as response:
            async for _ in response.aiter_bytes():
                opened.set()


def metric_value(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[-1])


async def test_streams_beyond_the_cap_get_a_429_and_are_counted(busy_mock: RunningProcess) -> None:
    events = [asyncio.Event(), asyncio.Event()]
    holders = [asyncio.create_task(hold(busy_mock.url, event)) for event in events]
    try:
        async with asyncio.timeout(10):
            await asyncio.gather(*(event.wait() for event in events))
        async with httpx.AsyncClient(base_url=busy_mock.url) as client:
            pushed = await client.post("/v1/chat/completions", json=openai_body("Hi"))
            metrics = (await client.get("/metrics")).text
        assert pushed.status_code == 429
        assert pushed.json()["error"]["code"] == "rate_limit_exceeded"
        assert pushed.headers["retry-after"] == "1"
        assert metric_value(metrics, "mock_llm_open_streams") == 2
        assert metric_value(metrics, "mock_llm_requests_rejected_total") == 1

        env = {
            "OPENAI_BASE_URL": f"{busy_mock.url}/v1",
            "OPENAI_API_KEY": FAKE_KEY,
            "GHOSTSTREAM_RETRY_ATTEMPTS": "0",
        }
        with serve_in_process("service", env=env) as service:
            record = await timed_stream(
                f"{service.url}/ask-ai", method="GET", params={"prompt": "Hi"}
            )
        assert record.error_code == "rate_limited"
        assert record.terminal_data is not None and record.terminal_data["retry_after"] == 1.0
    finally:
        for task in holders:
            task.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
