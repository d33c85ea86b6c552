"""Raw-socket attackers against the service and the mock: every one gets its documented answer in
bounded time, and the server is whole afterwards (`recovered`)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.adversarial.conftest import (
    CONNECTIONS_PER_CLIENT,
    TIMEOUT_S,
    Target,
    footprint,
    raw_exchange,
)

GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
SLACK_S = 1.0
"""On top of a timer, what a loaded machine may add before the server acts on it."""


def _refusal(body: bytes) -> str:
    """The error code of a refusal body, in the service's shape and OpenAI's alike."""
    error = json.loads(body)["error"]
    assert error["message"] and "Traceback" not in error["message"]
    return str(error["code"])


@pytest.mark.parametrize(
    "head",
    [
        GET + b"X-Big: " + b"a" * 40_000 + b"\r\n\r\n",
        GET + b"X-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        GET + b"X-Big: " + b"a" * 80_000_000 + b"\r\n\r\n",
        GET + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 400) for i in range(90)) + b"\r\n",
        b"GET /healthz?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["40KiB-header", "1MiB-header", "80MiB-header", "90x400B-headers", "100KB-url"],
)
async def test_an_oversized_head_is_refused_with_431_at_once(
    recovered: Target, head: bytes
) -> None:
    answer = await raw_exchange(recovered.url, head)
    assert answer.status == 431, answer.raw[:200]
    assert _refusal(answer.body) == "header_too_large"
    assert answer.closed_after_s < SLACK_S


@pytest.mark.parametrize("count", [101, 5_000, 100_000])
async def test_too_many_headers_are_refused_with_431(recovered: Target, count: int) -> None:
    head = GET + b"".join(b"X-%d: v\r\n" % i for i in range(count)) + b"\r\n"
    answer = await raw_exchange(recovered.url, head)
    assert answer.status == 431, answer.raw[:200]
    assert _refusal(answer.body) in ("too_many_headers", "header_too_large")


async def test_a_connection_that_sends_nothing_is_closed(recovered: Target) -> None:
    answer = await raw_exchange(recovered.url, b"")
    assert answer.status is None and answer.raw == b""
    assert TIMEOUT_S * 0.9 <= answer.closed_after_s < TIMEOUT_S + SLACK_S


@pytest.mark.parametrize(
    ("start", "trickle", "reason"),
    [
        (b"GET /healthz HTTP/1.1\r\n", b"X-Slow: " + b"a" * 100, "header_timeout"),
        (
            b"POST CHAT HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n",
            b"{" + b" " * 100,
            "body_timeout",
        ),
        (
            b"POST CHAT HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            b"1\r\n \r\n" * 50,
            "body_timeout",
        ),
    ],
    ids=["slow-head", "stalled-content-length-body", "endless-chunked-body"],
)
async def test_a_request_that_never_finishes_gets_408(
    recovered: Target, start: bytes, trickle: bytes, reason: str
) -> None:
    """Slowloris: one byte every 200 ms keeps the socket busy but never completes the request;
    the timer runs from the request's first byte, so trickling does not reset it."""
    start = start.replace(b"CHAT", recovered.chat_path.encode())
    answer = await raw_exchange(recovered.url, start, trickle=trickle, every_s=0.2)
    assert answer.status == 408, answer.raw[:200]
    assert _refusal(answer.body) == reason


async def test_connections_beyond_the_per_address_cap_are_refused(recovered: Target) -> None:
    before = footprint(recovered.pid).fds
    host, port = recovered.url.removeprefix("http://").split(":")
    held = [await asyncio.open_connection(host, int(port)) for _ in range(CONNECTIONS_PER_CLIENT)]
    try:
        # The ones held (the fixture's own pooled connection is closed by now) fill the cap.
        answer = await raw_exchange(recovered.url, GET + b"\r\n", limit_s=5)
        assert answer.status == 429, answer.raw[:200]
        assert _refusal(answer.body) == "too_many_connections"
        assert footprint(recovered.pid).fds <= before + CONNECTIONS_PER_CLIENT + 1
    finally:
        for _, writer in held:
            writer.close()


async def test_a_normal_stream_outlives_every_timer(guarded_service: Target) -> None:
    """A stream much longer than the head, body and idle timeouts is not touched by them."""
    from ghoststream.harness.client import timed_stream
    from mock_llm.directive import directive

    prompt = directive(ttft_ms=0, itl_ms=100, tokens=int(3 * TIMEOUT_S * 10)) + " Go."
    record = await timed_stream(
        f"{guarded_service.url}/ask-ai", method="GET", params={"prompt": prompt}
    )
    assert record.terminal == "done", record
    assert record.tokens == int(3 * TIMEOUT_S * 10)


@pytest.mark.parametrize(
    "after", [b"\r\n", b"GET /healthz HTTP/1.1\r\nHo"], ids=["stray-crlf", "pipelined-half-head"]
)
async def test_bytes_after_a_request_do_not_cut_its_stream(
    guarded_service: Target, after: bytes
) -> None:
    """What a client sends while its stream runs starts the head timer only once the stream
    has ended: the stream, three times the timer long, arrives whole."""
    from urllib.parse import quote

    from mock_llm.directive import directive

    tokens = int(3 * TIMEOUT_S * 10)
    prompt = quote(directive(ttft_ms=0, itl_ms=100, tokens=tokens) + " Go.")
    request = f"GET /ask-ai?prompt={prompt} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    # A byte every 200 ms once the request is sent: they arrive while the stream runs.
    answer = await raw_exchange(guarded_service.url, request, trickle=after, limit_s=15)
    assert answer.status == 200, answer.raw[:200]
    assert answer.raw.count(b"event: token") == tokens
    assert b"event: done" in answer.raw
