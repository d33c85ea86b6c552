"""The engine model (`mock_llm.engine`): its formulas on their own, its slots and queue without
sockets, and K concurrent streams over real sockets timed against the model's prediction.

Timing tolerance: a stream is never early (hard: the mock sends nothing before its deadline,
less `EARLY_MS` of timer rounding), and not late by more than `LATE` of the prediction plus
`LATE_MS` (soft: best of three, see `conftest.py`). Median gaps must be within `GAP` of the
prediction plus `GAP_MS`. Schedules are 50-200 ms, so a wrong formula (a load factor of 1x or
of the full Lx where the batch is partial) misses by far more than the tolerance.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import statistics
from collections.abc import Awaitable, Callable, Iterator

import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.servers import RunningProcess, serve_in_process
from ghoststream.protocols.chat import DIALECT
from ghoststream.protocols.dialect import InvalidRequest
from mock_llm import scenarios
from mock_llm.__main__ import config_from, parse_args
from mock_llm.config import MockConfig
from mock_llm.engine import (
    BLOCK_TOKENS,
    Engine,
    PrefixCache,
    first_token_ms,
    load_factor,
    prefill_ms,
)
from mock_llm.planning import plan
from mock_llm.profiles import PROFILES

LOG = logging.getLogger(__name__)
BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]

EARLY_MS = 5.0
LATE = 0.10
LATE_MS = 40.0
GAP = 0.10
GAP_MS = 5.0
SEQS = 4
FACTOR = 3.0


# -- the formulas ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("running", "seqs", "factor", "expected"),
    [
        (1, 4, 3.0, 1.0),
        (4, 4, 3.0, 3.0),
        (2, 4, 3.0, 1.0 + 2.0 / 3.0),
        (3, 5, 2.0, 1.5),
        (7, 1, 3.0, 1.0),
        (9, 9, 1.0, 1.0),
    ],
    ids=["one-stream", "full-batch", "a-third", "half", "one-slot", "factor-one"],
)
def test_the_load_factor_is_linear_from_one_stream_to_a_full_batch(
    running: int, seqs: int, factor: float, expected: float
) -> None:
    assert load_factor(running, seqs, factor) == pytest.approx(expected)


def test_prefill_is_an_overhead_plus_a_cost_per_prompt_token_and_nothing_when_off() -> None:
    assert prefill_ms(400, 0.25, 30.0) == 130.0
    assert prefill_ms(400, 0.0, 0.0) == 0.0
    assert prefill_ms(400, 0.0, 20.0) == 20.0
    assert first_token_ms(100.0, 130.0, 2.0) == 460.0


def test_every_profile_names_its_source_and_sets_only_known_flags() -> None:
    for profile in PROFILES.values():
        assert "llm-d-inference-sim" in profile.source
        assert set(profile.defaults()) == {
            "ttft_ms",
            "itl_ms",
            "prefill_overhead_ms",
            "prefill_ms_per_token",
            "load_factor",
            "max_num_seqs",
        }


def test_a_profile_sets_defaults_and_a_flag_given_still_wins() -> None:
    config = config_from(parse_args(["--profile", "8b-h100", "--load-factor", "4"]))
    assert (config.max_num_seqs, config.itl_ms, config.ttft_ms) == (16, 12.0, 0.0)
    assert (config.prefill_overhead_ms, config.prefill_ms_per_token) == (30.0, 0.25)
    assert config.load_factor == 4.0
    assert config_from(parse_args([])).max_num_seqs is None, "off unless asked for"


def test_the_model_is_a_control_from_a_scenario_a_header_and_a_directive() -> None:
    [slow] = scenarios.parse([{"name": "slow", "match": "slow", "load_factor": 2}])
    prompt = "slow [mock: prefill_ms_per_token=0.5]"
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": prompt}]})
    request = DIALECT.parse_request(body.encode(), {})
    headers = {"x-mock-prefill-overhead-ms": "40"}
    got, _ = plan(MockConfig(), request, headers, [slow])
    assert (got.load_factor, got.prefill_overhead_ms, got.prefill_ms_per_token) == (2, 40, 0.5)


def test_a_load_factor_below_one_is_refused() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "[mock: load_factor=0.5]"}]}'
    with pytest.raises(InvalidRequest, match="load_factor=0.5 is out of range"):
        plan(MockConfig(), DIALECT.parse_request(body, {}), {}, [])


# -- slots and the queue, without sockets ----------------------------------------------------


async def test_streams_beyond_the_slots_wait_in_arrival_order() -> None:
    engine = Engine(2, max_queue=2)
    await engine.acquire()
    await engine.acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await engine.acquire()
        order.append(name)

    waiters = [asyncio.create_task(wait(name)) for name in ("first", "second")]
    await asyncio.sleep(0)  # both reach the queue (a scheduling step, not a wait for time)
    assert len(engine.waiting) == 2 and engine.full()
    engine.release()
    engine.release()
    await asyncio.gather(*waiters)
    assert order == ["first", "second"] and engine.running == 2 and not engine.waiting
    engine.release()
    engine.release()
    assert engine.running == 0


async def test_a_waiter_that_leaves_is_out_of_the_queue_at_once() -> None:
    engine = Engine(1)
    await engine.acquire()
    leaver = asyncio.create_task(engine.acquire())
    stayer = asyncio.create_task(engine.acquire())
    await asyncio.sleep(0)
    leaver.cancel()
    await asyncio.gather(leaver, return_exceptions=True)
    assert len(engine.waiting) == 1
    engine.release()
    await stayer
    assert engine.running == 1 and not engine.waiting


async def test_a_slot_handed_to_a_waiter_that_just_left_passes_on() -> None:
    engine = Engine(1)
    await engine.acquire()
    leaver = asyncio.create_task(engine.acquire())
    stayer = asyncio.create_task(engine.acquire())
    await asyncio.sleep(0)
    engine.release()  # the slot goes to `leaver`...
    leaver.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(leaver, return_exceptions=True)
    await stayer
    assert engine.running == 1 and not engine.waiting


# -- the prediction ---------------------------------------------------------------------------


def predict(
    k: int, seqs: int, factor: float, first_ms: float, itl_ms: float, tokens: int
) -> list[tuple[float, list[float]]]:
    """(TTFT, gaps) in ms of `k` streams arriving together, in admission order: the model run
    as a discrete-event simulation (slots, FIFO hand-over, the load factor per token)."""
    running, waiting = 0, list(range(k))
    events: list[tuple[float, int, int]] = []
    times: dict[int, list[float]] = {s: [] for s in range(k)}

    def admit(stream: int, now: float) -> None:
        heapq.heappush(events, (now + first_ms * load_factor(running, seqs, factor), stream, 0))

    while waiting and running < seqs:
        running += 1
        admit(waiting.pop(0), 0.0)
    while events:
        now, stream, index = heapq.heappop(events)
        times[stream].append(now)
        if index + 1 < tokens:
            gap = itl_ms * load_factor(running, seqs, factor)
            heapq.heappush(events, (now + gap, stream, index + 1))
        elif waiting:
            admit(waiting.pop(0), now)  # the slot passes on: the batch stays full
        else:
            running -= 1
    return [(t[0], [b - a for a, b in zip(t, t[1:], strict=False)]) for t in times.values()]


def test_the_prediction_of_one_stream_is_the_unloaded_schedule() -> None:
    [(ttft, gaps)] = predict(1, 4, 3.0, 100.0, 50.0, 4)
    assert ttft == 100.0 and gaps == [50.0, 50.0, 50.0]


def test_the_prediction_queues_the_fifth_stream_until_a_slot_frees() -> None:
    streams = predict(5, 4, 1.0, 100.0, 50.0, 3)
    assert [ttft for ttft, _ in streams] == [100.0] * 4 + [300.0]


# -- measured over sockets --------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine_mock() -> Iterator[RunningProcess]:
    args = ["--log-level", "warning", "--max-num-seqs", str(SEQS), "--max-queue", "2"]
    with serve_in_process("mock_llm", args) as server:
        yield server


def _sorted_problems(
    records: list[StreamRecord], predicted: list[tuple[float, list[float]]]
) -> tuple[list[str], list[tuple[float, float, float, float]]]:
    """Late TTFTs and off gaps (the hard 'never early' is asserted); streams are matched in TTFT
    order, as the server's admission order is the arrival order, not the client's."""
    measured = sorted(((r.ttft or 0.0) * 1000, statistics.median(r.gaps) * 1000) for r in records)
    expected = sorted((ttft, statistics.median(gaps)) for ttft, gaps in predicted)
    problems = []
    rows = []
    for (ttft, gap), (want_ttft, want_gap) in zip(measured, expected, strict=True):
        rows.append((want_ttft, ttft, want_gap, gap))
        assert ttft >= want_ttft - EARLY_MS, f"TTFT {ttft:.1f} ms before {want_ttft:.1f} ms"
        if ttft > want_ttft * (1 + LATE) + LATE_MS:
            problems.append(f"TTFT {ttft:.1f} ms for {want_ttft:.1f} ms")
        if abs(gap - want_gap) > want_gap * GAP + GAP_MS:
            problems.append(f"median gap {gap:.1f} ms for {want_gap:.1f} ms")
    return problems, rows


async def _measure(
    url: str,
    best_of: BestOf,
    k: int,
    prompt_tokens: int,
    controls: dict[str, float],
    model: tuple[int, float, float, float],
    tokens: int,
) -> list[tuple[float, float, float, float]]:
    """K concurrent streams of a `prompt_tokens` prompt, checked against the prediction."""
    seqs, factor, first_ms, itl_ms = model
    predicted = predict(k, seqs, factor, first_ms, itl_ms, tokens)
    headers = {f"X-Mock-{key.replace('_', '-')}": str(v) for key, v in controls.items()}
    headers["X-Mock-Tokens"] = str(tokens)
    body = openai_body("x" * (4 * prompt_tokens))  # 4 characters a token, as the mock counts
    evidence = MockEvidence(url)
    table: list[tuple[float, float, float, float]] = []

    async def attempt() -> list[str]:
        await evidence.reset()
        records = await asyncio.gather(
            *(
                timed_stream(f"{url}/v1/chat/completions", body, dialect="chat", headers=headers)
                for _ in range(k)
            )
        )
        for record in records:
            assert record.terminal == "done" and record.tokens == tokens, record
            assert record.usage is not None and record.usage["prompt_tokens"] == prompt_tokens
        problems, rows = _sorted_problems(list(records), predicted)
        table[:] = rows
        ledger = await evidence.requests()
        assert max(entry["batch_max"] for entry in ledger) == min(k, seqs)
        assert sorted(entry["batch_at_start"] for entry in ledger)[: min(k, seqs)] == list(
            range(1, min(k, seqs) + 1)
        )
        waits = sorted(entry["queue_wait_ms"] for entry in ledger)
        assert all(wait < 50 for wait in waits[:seqs]), waits
        assert all(wait > 100 for wait in waits[seqs:]), waits
        return problems

    await best_of(attempt)
    return table


def _log(case: str, table: list[tuple[float, float, float, float]]) -> None:
    """The model against the measurement (`--log-cli-level=INFO` shows it)."""
    for want_ttft, ttft, want_gap, gap in table:
        LOG.info(
            "%s: TTFT predicted %.0f measured %.0f ms; ITL predicted %.0f measured %.0f ms",
            case,
            want_ttft,
            ttft,
            want_gap,
            gap,
        )


@pytest.mark.parametrize(
    ("k", "prompt_tokens"),
    [(1, 40), (2, 400), (4, 40), (4, 400), (6, 200)],
    ids=["one-stream", "two-long-prompts", "full-batch", "full-batch-long-prompts", "queued"],
)
async def test_k_streams_keep_the_models_ttft_and_itl(
    engine_mock: RunningProcess, best_of: BestOf, k: int, prompt_tokens: int
) -> None:
    controls = {
        "ttft_ms": 50.0,
        "itl_ms": 50.0,
        "prefill_overhead_ms": 20.0,
        "prefill_ms_per_token": 0.25,
        "load_factor": FACTOR,
    }
    first = 50.0 + prefill_ms(prompt_tokens, 0.25, 20.0)
    table = await _measure(
        engine_mock.url, best_of, k, prompt_tokens, controls, (SEQS, FACTOR, first, 50.0), 5
    )
    _log(f"K={k} prompt={prompt_tokens}", table)


@pytest.fixture(scope="module")
def profiled_mock() -> Iterator[RunningProcess]:
    with serve_in_process("mock_llm", ["--log-level", "warning", "--profile", "3b-l40s-edge"]) as s:
        yield s


@pytest.mark.parametrize("prompt_tokens", [100, 400])
async def test_a_profile_sets_the_model_from_its_source(
    profiled_mock: RunningProcess, best_of: BestOf, prompt_tokens: int
) -> None:
    profile = PROFILES["3b-l40s-edge"]
    first = prefill_ms(prompt_tokens, profile.prefill_ms_per_token, profile.prefill_overhead_ms)
    # ITL raised from the profile's 15 ms, so the machine's noise is small against it
    model = (profile.max_num_seqs, profile.load_factor, first, 60.0)
    table = await _measure(profiled_mock.url, best_of, 4, prompt_tokens, {"itl_ms": 60.0}, model, 5)
    _log(f"3b-l40s-edge K=4 prompt={prompt_tokens}", table)


async def _until_open(evidence: MockEvidence, count: int) -> None:
    """Until `count` streams are open (running or queued): polls the ledger, sleeps never."""
    async with asyncio.timeout(10):
        while sum(e["outcome"] == "open" for e in await evidence.requests(0)) < count:
            pass


async def test_a_full_queue_answers_503_and_a_waiter_that_leaves_is_cancelled_at_once(
    engine_mock: RunningProcess,
) -> None:
    """vLLM refuses past its bounded queue with a 503 (`--max-num-queued-reqs`); a queued
    client that leaves must not hold its place, nor wait for a slot to learn it left."""
    url = f"{engine_mock.url}/v1/chat/completions"
    evidence = MockEvidence(engine_mock.url)
    await evidence.reset()
    long = {"X-Mock-TTFT-Ms": "0", "X-Mock-ITL-Ms": "50", "X-Mock-Tokens": "1000"}
    body = openai_body("hold")
    holders = [
        asyncio.create_task(timed_stream(url, body, dialect="chat", headers=long, abort_after_s=4))
        for _ in range(SEQS)
    ]
    await _until_open(evidence, SEQS)
    leaver = asyncio.create_task(timed_stream(url, body, dialect="chat", abort_after_s=0.3))
    stayer = asyncio.create_task(timed_stream(url, body, dialect="chat", abort_after_s=4))
    await _until_open(evidence, SEQS + 2)
    refused = await timed_stream(url, body, dialect="chat")
    assert refused.status == 503, refused
    left = await leaver
    assert left.aborted and left.tokens == 0
    ledger = await evidence.requests(0)
    [gone] = [e for e in ledger if e["outcome"] == "cancelled"]
    assert gone["tokens_sent"] == 0 and 250 < gone["queue_wait_ms"] < 1000, gone
    assert (await evidence.stats())["rejected"] == 1
    for task in (*holders, stayer):
        task.cancel()
    await asyncio.gather(*holders, stayer, return_exceptions=True)
    assert all(e["outcome"] != "open" for e in await evidence.requests(5))


def test_the_prefix_cache_reuses_whole_blocks_of_a_prefix_seen_before() -> None:
    cache = PrefixCache()
    system = ("system", "s" * 500)
    assert cache.cached_tokens([system, ("user", "first question")], 130) == 0
    again = cache.cached_tokens([system, ("user", "another question")], 131)
    # 513 characters in common ("system\0" + 500 + "\0user\0"): 8 whole 64-character blocks
    assert again == 8 * BLOCK_TOKENS, "the whole blocks both prompts share, not the new turn"
    assert cache.cached_tokens([("system", "t" + "s" * 499)], 125) == 0, "a prefix, not a part"
    assert cache.cached_tokens([system], 127) == 7 * BLOCK_TOKENS
    assert cache.cached_tokens([system], 100) == 99, "the last token is always computed"


async def test_with_the_prefix_cache_a_repeated_prompt_skips_its_prefill() -> None:
    args = ["--log-level", "warning", "--prefix-cache", "--prefill-ms-per-token", "0.5"]
    with serve_in_process("mock_llm", [*args, "--ttft-ms", "20", "--tokens", "2"]) as mock:
        body = openai_body("x" * 1600)  # 400 tokens: 200 ms of prefill, then all but one cached
        url = f"{mock.url}/v1/chat/completions"
        cold = await timed_stream(url, body, dialect="chat")
        warm = await timed_stream(url, body, dialect="chat")
        ledger = await MockEvidence(mock.url).requests()
    assert [e["cached_tokens"] for e in ledger] == [0, 399]
    assert [e["prefill_ms"] for e in ledger] == [200.0, 0.5]
    assert cold.ttft is not None and warm.ttft is not None
    assert cold.ttft * 1000 >= 220 - EARLY_MS and warm.ttft < cold.ttft - 0.1
