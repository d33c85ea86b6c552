"""A client that goes away cancels the upstream within 100 ms, in every phase.

The proof is the mock's own record: `outcome == "cancelled"` and `ended_at` (when the mock saw
the upstream connection close) within 100 ms of the moment the client closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ghoststream.harness.backpressure import close, open_unread_stream, wait_until_backpressured
from ghoststream.harness.client import timed_stream
from mock_llm.directive import directive
from tests.conftest import MockServer, ServiceServer, upstream_apis

pytestmark = upstream_apis

CANCEL_WITHIN_S = 0.100


def assert_cancelled_promptly(seen: dict[str, Any], closed_at: float) -> None:
    assert seen["outcome"] == "cancelled", seen
    assert seen["ended_at"] - closed_at < CANCEL_WITHIN_S, seen["ended_at"] - closed_at


@dataclass(frozen=True)
class LeavingPhase:
    """One moment a client can leave at, and the tokens the mock must have sent by then."""

    schedule: dict[str, Any]
    abort: dict[str, Any]
    tokens_sent: tuple[int, int]


PHASES = {
    "waiting_for_the_first_token": LeavingPhase(
        {"ttft_ms": 30_000}, {"abort_after_s": 0.3}, (0, 0)
    ),
    "upstream_stalled": LeavingPhase(
        {"ttft_ms": 0, "itl_ms": 1, "fault": "stall_midstream", "fault_after": 4},
        {"abort_after_s": 0.4},
        (4, 4),
    ),
    "mid_stream": LeavingPhase(
        {"ttft_ms": 0, "itl_ms": 20, "tokens": 500}, {"abort_after_tokens": 5}, (5, 8)
    ),
}


@pytest.mark.parametrize("phase", PHASES.values(), ids=PHASES.keys())
async def test_leaving_cancels_the_upstream(
    phase: LeavingPhase, service: ServiceServer, mock: MockServer
) -> None:
    prompt = directive(**phase.schedule) + " Go on."
    record = await timed_stream(
        f"{service.url}/ask-ai", method="GET", params={"prompt": prompt}, **phase.abort
    )
    assert record.aborted_at_wall is not None
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, record.aborted_at_wall)
    low, high = phase.tokens_sent
    assert low <= seen["tokens_sent"] <= high, seen
    assert low <= record.tokens <= high
    stats = await mock.evidence.stats()
    assert stats["cancelled"] == 1
    assert stats["tokens_saved"] == seen["tokens_planned"] - seen["tokens_sent"]


async def test_leaving_after_not_reading(service: ServiceServer, mock: MockServer) -> None:
    """The service is stuck in `send` on a full socket when the client goes away."""
    prompt = directive(ttft_ms=0, itl_ms=0, tokens=1_000_000) + " Flood."
    sock = await open_unread_stream(service.url, prompt)
    sent_when_blocked = await wait_until_backpressured(mock.evidence)
    assert sent_when_blocked < 1_000_000
    closed_at = close(sock)
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, closed_at)
