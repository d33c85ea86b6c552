"""The mock keeps its schedule, measured by the harness's timing client over real sockets.

Every token is checked against its deadline (start + TTFT + i * ITL): never early on any stream,
and not late beyond a few milliseconds on at least one of three tries (see `conftest.py`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.records import StreamRecord

if TYPE_CHECKING:
    from tests.conftest import MockServer

BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]

EARLY_MS = 5.0
"""Timers may fire a little early (uvloop rounds to whole milliseconds); more is a bug."""
LATE_TTFT_MS = 60.0
GAP_MS = 3.0


def _chat(mock: MockServer) -> str:
    return f"{mock.v1}/chat/completions"


def _lateness_ms(record: StreamRecord, ttft_ms: float, itl_ms: float) -> list[float]:
    """How late each token arrived against its deadline, from the client's request start."""
    return [
        (at - record.started_at) * 1000 - (ttft_ms + i * itl_ms)
        for i, at in enumerate(record.token_times)
    ]


def _assert_never_early(record: StreamRecord, ttft_ms: float, itl_ms: float) -> None:
    lateness = _lateness_ms(record, ttft_ms, itl_ms)
    early = [(i, round(ms, 1)) for i, ms in enumerate(lateness) if ms < -EARLY_MS]
    assert not early, f"tokens before their deadline (index, ms): {early}"


def _schedule_problems(record: StreamRecord, ttft_ms: float, itl_ms: float) -> list[str]:
    """What was late: TTFT, the median gap, the last token."""
    assert record.ttft is not None
    problems = []
    if record.ttft * 1000 > ttft_ms + LATE_TTFT_MS:
        problems.append(f"TTFT {record.ttft * 1000:.1f} ms for {ttft_ms} ms")
    median_gap = statistics.median(record.gaps) * 1000
    if abs(median_gap - itl_ms) > GAP_MS:
        problems.append(f"median gap {median_gap:.1f} ms for {itl_ms} ms")
    last = _lateness_ms(record, ttft_ms, itl_ms)[-1]
    if last > LATE_TTFT_MS:
        problems.append(f"last token {last:.1f} ms late")
    return problems


@pytest.mark.parametrize(
    ("ttft_ms", "itl_ms", "tokens"),
    [(300, 40, 10), (100, 10, 30)],
    ids=["ttft300-itl40", "ttft100-itl10"],
)
@pytest.mark.parametrize("via", ["headers", "directive"])
async def test_ttft_and_itl_follow_the_configured_schedule(
    mock: MockServer, best_of: BestOf, via: str, ttft_ms: int, itl_ms: int, tokens: int
) -> None:
    controls = {"ttft_ms": ttft_ms, "itl_ms": itl_ms, "tokens": tokens}
    if via == "headers":
        headers = {f"X-Mock-{key.replace('_', '-')}": str(value) for key, value in controls.items()}
        prompt = "tell me something"
    else:
        headers = {}
        prompt = "[mock: " + " ".join(f"{k}={v}" for k, v in controls.items()) + "] tell me"

    async def attempt() -> list[str]:
        record = await timed_stream(
            _chat(mock), openai_body(prompt), dialect="chat", headers=headers
        )
        assert record.ok and record.tokens == tokens
        _assert_never_early(record, ttft_ms, itl_ms)
        return _schedule_problems(record, ttft_ms, itl_ms)

    await best_of(attempt)
    entries = await mock.evidence.requests()
    assert {(e["ttft_ms"], e["itl_ms"], e["tokens_planned"]) for e in entries} == {
        (ttft_ms, itl_ms, tokens)
    }


async def test_the_command_line_defaults_apply_without_controls(
    mock: MockServer, best_of: BestOf
) -> None:
    """The session's mock runs with `--ttft-ms 50 --itl-ms 5 --tokens 20`."""

    async def attempt() -> list[str]:
        record = await timed_stream(_chat(mock), openai_body("hi"), dialect="chat")
        assert record.ok and record.tokens == 20
        _assert_never_early(record, 50, 5)
        return _schedule_problems(record, 50, 5)

    await best_of(attempt)
    entry = (await mock.evidence.requests())[-1]
    assert (entry["ttft_ms"], entry["itl_ms"], entry["tokens_planned"]) == (50, 5, 20)


async def test_tokens_go_out_on_absolute_deadlines_without_drift(
    mock: MockServer, best_of: BestOf
) -> None:
    """400 gaps of 2 ms: sleeping 2 ms per token instead would drift tens of ms by the end."""
    ttft_ms, itl_ms, tokens = 20, 2, 401
    prompt = f"[mock: ttft_ms={ttft_ms} itl_ms={itl_ms} tokens={tokens}] count"

    async def attempt() -> list[str]:
        record = await timed_stream(_chat(mock), openai_body(prompt), dialect="chat")
        assert record.ok and record.tokens == tokens
        _assert_never_early(record, ttft_ms, itl_ms)
        lateness = _lateness_ms(record, ttft_ms, itl_ms)
        span = (record.token_times[-1] - record.token_times[0]) * 1000
        growth = statistics.median(lateness[-50:]) - statistics.median(lateness[:50])
        problems = []
        if not (tokens - 1) * itl_ms - EARLY_MS <= span <= (tokens - 1) * itl_ms + 25:
            problems.append(f"first to last token {span:.1f} ms for {(tokens - 1) * itl_ms} ms")
        if growth > 5:
            problems.append(f"lateness grew by {growth:.1f} ms over the stream")
        return problems

    await best_of(attempt)


async def test_a_non_streamed_answer_arrives_at_the_last_tokens_deadline(
    mock: MockServer, best_of: BestOf
) -> None:
    expected_s = 0.200 + 10 * 0.010
    body = openai_body("[mock: ttft_ms=200 itl_ms=10 tokens=11] hi", stream=False)
    del body["stream_options"]

    async def attempt() -> list[str]:
        async with httpx.AsyncClient(timeout=10) as client:
            started = time.perf_counter()
            response = await client.post(_chat(mock), json=body)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200
        assert response.json()["usage"]["completion_tokens"] == 11
        assert elapsed >= expected_s - EARLY_MS / 1000, f"answered after {elapsed:.3f} s"
        return [] if elapsed <= expected_s + 0.060 else [f"answered after {elapsed:.3f} s"]

    await best_of(attempt)


async def test_jitter_delays_tokens_by_up_to_its_bound_and_never_early(
    mock: MockServer, best_of: BestOf
) -> None:
    ttft_ms, itl_ms, jitter_ms = 50, 10, 20
    prompt = f"[mock: ttft_ms={ttft_ms} itl_ms={itl_ms} jitter_ms={jitter_ms} tokens=30 seed=4] x"

    async def attempt() -> list[str]:
        record = await timed_stream(_chat(mock), openai_body(prompt), dialect="chat")
        assert record.ok and record.tokens == 30
        _assert_never_early(record, ttft_ms, itl_ms)
        lateness = _lateness_ms(record, ttft_ms, itl_ms)
        problems = []
        if max(lateness) > jitter_ms + 30:
            problems.append(f"a token {max(lateness):.1f} ms late with {jitter_ms} ms jitter")
        if max(lateness) - min(lateness) < 5:
            problems.append("no jitter to be seen")
        return problems

    await best_of(attempt)


async def test_200_concurrent_streams_keep_the_schedule(mock: MockServer, best_of: BestOf) -> None:
    """200 streams at once, each with TTFT 300 ms and ITL 20 ms.

    TTFT is read from the response headers (sent when the mock starts the stream's clock) to the
    first token: the client opening 200 connections in one burst costs it 20-40 ms before its
    requests leave, which is the client's time, not the mock's. The raw TTFT from the client's
    start is bounded too, more loosely, and no stream may be early by either measure.
    """
    ttft_ms, itl_ms, streams = 300, 20, 200
    body = openai_body(f"[mock: ttft_ms={ttft_ms} itl_ms={itl_ms} tokens=10] hi")

    async def attempt() -> list[str]:
        await mock.evidence.reset()
        records = await asyncio.gather(
            *(timed_stream(_chat(mock), body, dialect="chat") for _ in range(streams))
        )
        for record in records:
            assert record.ok and record.tokens == 10 and record.headers_at is not None
            _assert_never_early(record, ttft_ms, itl_ms)
        from_headers = statistics.median(
            (r.token_times[0] - r.headers_at) * 1000 for r in records if r.headers_at
        )
        raw = statistics.median(r.ttft * 1000 for r in records if r.ttft is not None)
        gaps = statistics.median(g * 1000 for r in records for g in r.gaps)
        entries = await mock.evidence.requests()
        assert len(entries) == streams and all(e["outcome"] == "completed" for e in entries)
        own = statistics.median((e["first_token_at"] - e["started_at"]) * 1000 for e in entries)
        problems = []
        if not ttft_ms - EARLY_MS <= from_headers <= ttft_ms + 20:
            problems.append(f"median TTFT after headers {from_headers:.1f} ms")
        if raw > ttft_ms + 100:
            problems.append(f"median TTFT from the client's start {raw:.1f} ms")
        if abs(gaps - itl_ms) > GAP_MS:
            problems.append(f"median gap {gaps:.1f} ms")
        if not ttft_ms - EARLY_MS <= own <= ttft_ms + 20:
            problems.append(f"the mock's own median TTFT {own:.1f} ms")
        return problems

    await best_of(attempt)
