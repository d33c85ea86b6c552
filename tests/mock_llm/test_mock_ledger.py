"""The evidence ledger without sockets: one outcome per stream, counters, and the long-poll."""

from __future__ import annotations

import asyncio

from mock_llm.ledger import Ledger, StreamEntry


def _entry(planned: int = 10, name: str = "chatcmpl-1") -> StreamEntry:
    return StreamEntry(
        id=name,
        api="chat",
        model="m",
        stream=True,
        mode="prose",
        scenario=None,
        fault=None,
        tokens_planned=planned,
        ttft_ms=50.0,
        itl_ms=5.0,
        request_id=None,
        prompt_chars=3,
        started_at=1.0,
    )


async def test_a_stream_is_closed_once_and_the_first_outcome_stands() -> None:
    ledger = Ledger()
    entry = ledger.open(_entry())
    entry.tokens_sent = 4
    ledger.close(entry, "cancelled")
    ended = entry.ended_at
    ledger.close(entry, "completed")
    assert entry.outcome == "cancelled" and entry.ended_at == ended is not None
    assert ledger.stats() == {
        "started": 1,
        "completed": 0,
        "cancelled": 1,
        "faulted": 0,
        "open": 0,
        "tokens_sent": 4,
        "tokens_saved": 6,
        "rejected": 0,
    }


async def test_counters_sort_outcomes_and_count_live_tokens() -> None:
    ledger = Ledger()
    done, faulted, live = (ledger.open(_entry(name=f"c{i}")) for i in range(3))
    done.tokens_sent, faulted.tokens_sent, live.tokens_sent = 10, 2, 5
    ledger.close(done, "completed")
    ledger.close(faulted, "fault")
    stats = ledger.stats()
    assert (stats["completed"], stats["faulted"], stats["open"]) == (1, 1, 1)
    assert stats["tokens_sent"] == 17, "tokens of the open stream count as sent"
    assert stats["tokens_saved"] == 0, "only a cancelled stream saves tokens"


async def test_reset_forgets_finished_streams_but_keeps_open_ones() -> None:
    ledger = Ledger()
    finished, still_open = ledger.open(_entry(name="a")), ledger.open(_entry(name="b"))
    ledger.close(finished, "completed")
    ledger.reset()
    assert [entry["id"] for entry in ledger.requests()] == ["b"]
    assert ledger.stats()["open"] == 1 and ledger.stats()["completed"] == 0
    ledger.close(still_open, "completed")
    assert ledger.stats()["open"] == 0 and ledger.stats()["completed"] == 1


async def test_history_is_bounded() -> None:
    ledger = Ledger(history=3)
    for i in range(5):
        ledger.close(ledger.open(_entry(name=str(i))), "completed")
    assert [entry["id"] for entry in ledger.requests()] == ["2", "3", "4"]
    assert ledger.stats()["started"] == 5


async def test_wait_until_closed_wakes_when_the_last_stream_ends() -> None:
    ledger = Ledger()
    assert await ledger.wait_until_closed(0)
    entry = ledger.open(_entry())
    assert not await ledger.wait_until_closed(0.01)
    waiter = asyncio.create_task(ledger.wait_until_closed(10))
    # Ready callbacks run in order: the waiter starts waiting before the stream closes.
    asyncio.get_running_loop().call_soon(ledger.close, entry, "completed")
    async with asyncio.timeout(2):
        assert await waiter
    assert entry.outcome == "completed"


def test_entries_serialise_with_every_field() -> None:
    assert set(_entry().as_dict()) == {
        "id",
        "api",
        "model",
        "stream",
        "mode",
        "scenario",
        "fault",
        "tokens_planned",
        "ttft_ms",
        "itl_ms",
        "request_id",
        "prompt_chars",
        "started_at",
        "first_token_at",
        "ended_at",
        "outcome",
        "tokens_sent",
        "queue_wait_ms",
        "prefill_ms",
        "cached_tokens",
        "batch_at_start",
        "batch_max",
        "request_body",
        "request_bytes",
        "request_headers",
    }


def test_a_record_keeps_the_request_as_received_without_its_secrets() -> None:
    entry = _entry()
    entry.request_body, entry.request_bytes = b'{"model": "m"}', 14
    entry.request_headers = {"authorization": "Bearer sk-secret", "x-request-id": "r1"}
    record = entry.as_dict()
    assert record["request_body"] == {"model": "m"}
    assert record["request_headers"] == {"authorization": "[redacted]", "x-request-id": "r1"}


def test_a_body_over_the_limit_is_kept_as_its_first_bytes_of_text() -> None:
    entry = _entry()
    entry.request_body, entry.request_bytes = b'{"model": "m", "mess', 100_000
    assert entry.as_dict()["request_body"] == '{"model": "m", "mess'
