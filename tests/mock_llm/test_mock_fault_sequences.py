"""Fault sequences: a fault that strikes the first N identical requests, then lets the same
request through, so a client's retry loop can be tested end to end; and a seeded fault rate."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.servers import serve_in_process
from mock_llm.directive import directive
from mock_llm.faults import FaultTally, request_key
from tests.conftest import MockServer

KEY = request_key("/v1/chat/completions", b'{"same": "body"}')


def test_only_the_first_n_identical_requests_are_struck() -> None:
    tally = FaultTally()
    assert [tally.strikes(KEY, 2, 1.0, 0) for _ in range(4)] == [True, True, False, False]
    other = request_key("/v1/chat/completions", b'{"other": "body"}')
    assert tally.strikes(other, 2, 1.0, 0)  # counted per request


def test_a_fault_rate_is_a_seeded_share() -> None:
    draws = [FaultTally().strikes(request_key("/r", b"%d" % i), None, 0.3, 7) for i in range(4000)]
    assert 0.27 < sum(draws) / len(draws) < 0.33
    again = [FaultTally().strikes(request_key("/r", b"%d" % i), None, 0.3, 7) for i in range(4000)]
    assert draws == again  # the same seed and requests give the same faults
    other_seed = [
        FaultTally().strikes(request_key("/r", b"%d" % i), None, 0.3, 8) for i in range(4000)
    ]
    assert draws != other_seed


def test_the_tally_is_bounded() -> None:
    tally = FaultTally(capacity=10)
    for i in range(100):
        tally.strikes(request_key("/r", b"%d" % i), 1, 1.0, 0)
    assert len(tally.seen) == 10


@pytest.mark.parametrize(("fault_times", "succeeds"), [(2, True), (3, False)])
async def test_the_openai_sdks_own_retries_meet_the_sequence(
    mock: MockServer, fault_times: int, succeeds: bool
) -> None:
    """max_retries=2: three attempts. Two failures, then the third succeeds; three, it gives up."""
    prompt = directive(fault="http_429", fault_times=fault_times, retry_after_ms=10, ttft_ms=0)
    client = openai.AsyncOpenAI(base_url=mock.v1, api_key="sk-x", max_retries=2)
    async with client:
        messages = [{"role": "user", "content": prompt + " Hi"}]
        if succeeds:
            answer = await client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
            assert answer.choices[0].message.content
        else:
            with pytest.raises(openai.RateLimitError):
                await client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
    seen = await mock.evidence.requests(wait_until_closed=5)
    assert [r["fault"] for r in seen] == ["http_429"] * min(fault_times, 3) + [None] * (
        3 - min(fault_times, 3)
    )
    assert [r["outcome"] for r in seen][-1] == ("completed" if succeeds else "fault")


async def test_reset_forgets_the_sequence(mock: MockServer) -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": directive(fault="http_500", fault_times=1) + " x"}
        ],
    }
    async with httpx.AsyncClient(base_url=mock.v1) as client:
        statuses = [
            (await client.post("/chat/completions", json=body)).status_code for _ in range(2)
        ]
        await mock.evidence.reset()
        statuses.append((await client.post("/chat/completions", json=body)).status_code)
    assert statuses == [500, 200, 500]


async def test_a_refused_request_spends_none_of_the_sequence() -> None:
    """Pushed back by --max-concurrency, a request has not met its fault: the same request,
    once admitted, still gets it."""
    args = ["--log-level", "warning", "--max-concurrency", "1"]
    with serve_in_process("mock_llm", args) as server:
        evidence = MockEvidence(server.url)
        faulted = {
            "model": "m",
            "messages": [
                {"role": "user", "content": directive(fault="http_500", fault_times=1) + " x"}
            ],
        }
        holding = {
            "model": "m",
            "stream": True,
            "messages": [{"role": "user", "content": directive(ttft_ms=60_000) + " hold"}],
        }
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", timeout=10) as client:
            async with client.stream("POST", "/chat/completions", json=holding):
                async with asyncio.timeout(5):
                    while (await evidence.stats())["open"] != 1:
                        await asyncio.sleep(0.01)  # polling the mock's own counter
                refused = await client.post("/chat/completions", json=faulted)
            async with asyncio.timeout(5):
                while (await evidence.stats())["open"] != 0:
                    await asyncio.sleep(0.01)
            admitted = await client.post("/chat/completions", json=faulted)
            again = await client.post("/chat/completions", json=faulted)
    assert (refused.status_code, admitted.status_code, again.status_code) == (429, 500, 200)
