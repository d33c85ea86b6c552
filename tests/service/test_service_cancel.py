"""A client that goes away cancels the upstream within 100 ms, in every phase.

The proof is the mock's own record: `outcome == "cancelled"` and `ended_at` (when the mock saw
the upstream connection close) within 100 ms of the moment the client closed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any
from urllib.parse import quote, urlsplit

from benchmarks.endpoints import directive
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


async def _tokens_sent_settled(mock: MockServer, timeout: float = 10.0) -> int:
    """Wait until the mock's only stream stops advancing: the service is blocked on a client that
    does not read, and backpressure has reached the upstream."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = -1
    while loop.time() < deadline:
        [seen] = await mock.evidence.requests(wait_until_closed=0)
        if seen["tokens_sent"] == last and last > 0:
            return last
        last = seen["tokens_sent"]
        await asyncio.sleep(0.2)  # sampling interval of the settle check, not a synchronisation
    raise AssertionError("the upstream kept streaming into a client that does not read")


async def test_leaving_after_not_reading(service: ServiceServer, mock: MockServer) -> None:
    """The service is stuck in `send` on a full socket when the client goes away."""
    parts = urlsplit(service.url)
    prompt = directive(ttft_ms=0, itl_ms=0, tokens=1_000_000) + " Flood."
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    await loop.sock_sendall(
        sock, f"GET /ask-ai?prompt={quote(prompt)} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    )
    first = await loop.sock_recv(sock, 1024)
    assert first.startswith(b"HTTP/1.1 200")
    sent_when_blocked = await _tokens_sent_settled(mock)
    assert sent_when_blocked < 1_000_000
    closed_at = time.time()
    sock.close()
    seen = await mock.evidence.only_request()
    assert_cancelled_promptly(seen, closed_at)
