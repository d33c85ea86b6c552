"""A client that goes away is recorded as `cancelled` at once, wherever the stream was.

The mock's `ended_at` and the client's `aborted_at_wall` are both `time.time()` on this host, so
the gap between them is how long the mock took to notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from ghoststream.harness.client import openai_body, timed_stream

if TYPE_CHECKING:
    from tests.conftest import MockServer

BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]
NOTICE_S = 0.100


def _body(prompt: str, stream: bool = True) -> dict[str, Any]:
    body = openai_body(prompt, stream=stream)
    if not stream:
        del body["stream_options"]
    return body


@pytest.mark.parametrize(
    ("body", "abort", "sent"),
    [
        pytest.param(
            _body("[mock: ttft_ms=5000] hi"), {"abort_after_s": 0.2}, 0, id="waiting-for-the-ttft"
        ),
        pytest.param(
            _body("[mock: fault=stall_midstream fault_after=3] hi"),
            {"abort_after_s": 0.3},
            3,
            id="during-a-stall",
        ),
        pytest.param(
            _body("[mock: ttft_ms=50 itl_ms=200] hi"),
            {"abort_after_tokens": 3},
            3,
            id="mid-stream-after-3-tokens",
        ),
        pytest.param(
            _body("[mock: ttft_ms=5000] hi", stream=False),
            {"abort_after_s": 0.2},
            0,
            id="waiting-for-a-non-streamed-answer",
        ),
    ],
)
async def test_a_client_that_leaves_is_recorded_as_cancelled_at_once(
    mock: MockServer, best_of: BestOf, body: dict[str, Any], abort: dict[str, Any], sent: int
) -> None:
    planned = 20  # the session mock's --tokens

    async def attempt() -> list[str]:
        await mock.evidence.reset()
        record = await timed_stream(f"{mock.v1}/chat/completions", body, dialect="chat", **abort)
        assert record.aborted and record.aborted_at_wall is not None
        assert record.tokens == sent and record.terminal is None
        entry = await mock.evidence.only_request(wait_until_closed=5)
        assert entry["outcome"] == "cancelled"
        assert (entry["tokens_sent"], entry["tokens_planned"]) == (sent, planned)
        noticed = entry["ended_at"] - record.aborted_at_wall
        assert noticed >= -0.005, "the mock ended the stream before the client left"
        stats = await mock.evidence.stats()
        assert (stats["started"], stats["cancelled"], stats["open"]) == (1, 1, 0)
        assert (stats["completed"], stats["faulted"]) == (0, 0)
        assert stats["tokens_saved"] == planned - sent and stats["tokens_sent"] == sent
        return [] if noticed <= NOTICE_S else [f"noticed after {noticed * 1000:.0f} ms"]

    await best_of(attempt)


async def test_a_hundred_clients_leaving_together_are_all_recorded(mock: MockServer) -> None:
    body = _body("[mock: ttft_ms=5000] hi")
    url = f"{mock.v1}/chat/completions"
    records = await asyncio.gather(
        *(timed_stream(url, body, dialect="chat", abort_after_s=0.3) for _ in range(100))
    )
    assert all(record.aborted for record in records)
    entries = await mock.evidence.requests(wait_until_closed=5)
    assert len(entries) == 100 and {e["outcome"] for e in entries} == {"cancelled"}
    stats = await mock.evidence.stats()
    assert (stats["cancelled"], stats["open"], stats["tokens_saved"]) == (100, 0, 100 * 20)
