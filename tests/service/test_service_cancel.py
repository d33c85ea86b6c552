"""A client that goes away cancels the upstream within 100 ms, in every phase.

The proof is the mock's own record: `outcome == "cancelled"` and `ended_at` (when the mock saw
the upstream connection close) within 100 ms of the moment the client closed.
"""

from __future__ import annotations

from typing import Any

from benchmarks.endpoints import directive
from harness.backpressure import close, open_unread_stream, wait_until_backpressured
from harness.client import timed_stream
from tests.conftest import MockServer, ServiceServer

CANCEL_WITHIN_S = 0.100


def assert_cancelled_promptly(seen: dict[str, Any], closed_at: float) -> None:
    assert seen["outcome"] == "cancelled", seen
    assert seen["ended_at"] - closed_at < CANCEL_WITHIN_S, seen["ended_at"] - closed_at


async def test_leaving_while_waiting_for_the_first_token(
    service: ServiceServer, mock: MockServer
) -> None:
    prompt = directive(ttft_ms=30_000) + " Think long."
    record = await timed_stream(
        f"{service.url}/ask-ai", method="GET", params={"prompt": prompt}, abort_after_s=0.3
    )
    assert record.tokens == 0 and record.aborted_at_wall is not None
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, record.aborted_at_wall)
    assert seen["tokens_sent"] == 0
    stats = await mock.evidence.stats()
    assert stats["cancelled"] == 1 and stats["tokens_saved"] == seen["tokens_planned"]


async def test_leaving_while_the_upstream_is_stalled(
    service: ServiceServer, mock: MockServer
) -> None:
    prompt = directive(ttft_ms=0, itl_ms=1, fault="stall_midstream", fault_after=4) + " x"
    record = await timed_stream(
        f"{service.url}/ask-ai", method="GET", params={"prompt": prompt}, abort_after_s=0.4
    )
    assert record.tokens == 4 and record.aborted_at_wall is not None
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, record.aborted_at_wall)
    assert seen["tokens_sent"] == 4


async def test_leaving_mid_stream(service: ServiceServer, mock: MockServer) -> None:
    prompt = directive(ttft_ms=0, itl_ms=20, tokens=500) + " Go on."
    record = await timed_stream(
        f"{service.url}/ask-ai", method="GET", params={"prompt": prompt}, abort_after_tokens=5
    )
    assert record.aborted_at_wall is not None
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, record.aborted_at_wall)
    assert 5 <= seen["tokens_sent"] <= 8


async def test_leaving_after_not_reading(service: ServiceServer, mock: MockServer) -> None:
    """The service is stuck in `send` on a full socket when the client goes away."""
    prompt = directive(ttft_ms=0, itl_ms=0, tokens=1_000_000) + " Flood."
    sock = await open_unread_stream(service.url, prompt)
    sent_when_blocked = await wait_until_backpressured(mock.evidence)
    assert sent_when_blocked < 1_000_000
    closed_at = close(sock)
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, closed_at)
