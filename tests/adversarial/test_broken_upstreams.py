"""Upstreams that send exactly the wrong bytes: each ends the client's stream with its one
documented error event in bounded time, and the service is whole afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.servers import serve_in_process
from tests.adversarial.conftest import Target, footprint
from tests.adversarial.fake_upstream import (
    SSE_HEAD,
    FakeUpstream,
    Script,
    chunk,
    fake_upstream,
    flood,
    forever,
    sse,
    whole,
)
from tests.conftest import FAKE_KEY

IDLE_S = 0.5
FIRST_TOKEN_S = 1.5
SLACK_S = 1.0


def event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def chunk_with(delta: Any = None, finish: Any = None, **extra: Any) -> bytes:
    choice = {"index": 0, "delta": {} if delta is None else delta, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return event({**body, "choices": [choice], **extra})


TOKEN = chunk_with({"content": "Hi"})
GOOD = sse(TOKEN, chunk_with(finish="stop"), b"data: [DONE]\n\n")
KEEPALIVE = event({"id": "c", "object": "chat.completion.chunk", "created": 1, "choices": []})


def head(status: str, *headers: str, body: bytes = b"") -> Script:
    lines = [f"HTTP/1.1 {status}", *headers, f"content-length: {len(body)}", "", ""]
    return whole("\r\n".join(lines).encode() + body)


async def hang(writer: asyncio.StreamWriter) -> None:
    await asyncio.Event().wait()  # the upstream says nothing more, ever


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def relay(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    log = tmp_path_factory.mktemp("relay") / "service.log"
    env = {
        "OPENAI_BASE_URL": f"{upstream.url}/v1",
        "OPENAI_API_KEY": FAKE_KEY,
        "GHOSTSTREAM_IDLE_TIMEOUT_S": str(IDLE_S),
        "GHOSTSTREAM_FIRST_TOKEN_TIMEOUT_S": str(FIRST_TOKEN_S),
        "GHOSTSTREAM_RETRY_ATTEMPTS": "1",
        "GHOSTSTREAM_RETRY_MAX_WAIT_S": "0.5",
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
    }
    upstream.reset(GOOD)
    with serve_in_process("service", env=env, output=log) as server:
        yield Target("service", server.url, server.pid, log)


async def ask(relay: Target) -> tuple[StreamRecord, float]:
    started = time.monotonic()
    record = await timed_stream(
        f"{relay.url}/ask-ai", method="GET", params={"prompt": "Hi"}, timeout=30
    )
    return record, time.monotonic() - started


@pytest.fixture
async def whole_after(relay: Target, upstream: FakeUpstream) -> Any:
    """After the case: a good upstream streams through, fds and memory back where they were."""
    upstream.reset(GOOD)
    record, _ = await ask(relay)
    assert record.terminal == "done"
    before = footprint(relay.pid)
    yield
    upstream.reset(GOOD)
    await relay.assert_recovered(before)


def assert_error(record: StreamRecord, code: str) -> dict[str, Any]:
    assert record.status == 200 and record.terminal == "error", record
    data = record.terminal_data or {}
    assert data["code"] == code, data
    return data


CASES = {
    # An event that never ends (one 50 MB line; a pile of data lines with no blank line).
    "50MB-line": (flood(b"data: ", 50 * 2**20), "upstream_malformed", 10.0),
    "data-lines-never-dispatched": (
        sse(*[b"data: x\n" * 8192] * 32, then=hang),
        "upstream_malformed",
        5.0,
    ),
    # Bytes that are not tokens do not keep a stream alive.
    "keepalives-after-a-token": (
        sse(TOKEN, then=forever(chunk(KEEPALIVE), 0.05)),
        "idle_timeout",
        IDLE_S,
    ),
    "comment-trickle-after-a-token": (
        sse(TOKEN, then=forever(chunk(b":"), 0.1)),
        "idle_timeout",
        IDLE_S,
    ),
    "keepalives-before-any-token": (
        sse(then=forever(chunk(KEEPALIVE), 0.05)),
        "first_token_timeout",
        FIRST_TOKEN_S,
    ),
    # Wrong-shaped values.
    "content-a-number": (sse(chunk_with({"content": 5}), then=hang), "upstream_malformed", 0.5),
    "content-an-object": (
        sse(chunk_with({"content": {"a": 1}}), then=hang),
        "upstream_malformed",
        0.5,
    ),
    "delta-a-list": (sse(chunk_with([1]), then=hang), "upstream_malformed", 0.5),
    "choices-an-object": (sse(event({"choices": {"0": 1}}), then=hang), "upstream_malformed", 0.5),
    "finish-reason-an-object": (
        sse(TOKEN, chunk_with(finish={"x": 1}), then=hang),
        "upstream_malformed",
        0.5,
    ),
    "usage-a-string": (
        sse(TOKEN, chunk_with(finish="stop"), event({"choices": [], "usage": "lots"}), then=hang),
        "upstream_malformed",
        0.5,
    ),
    # 200s that are not event streams.
    "html-200": (
        head("200 OK", "content-type: text/html", body=b"<html></html>"),
        "upstream_malformed",
        0.5,
    ),
    "json-200": (
        head("200 OK", "content-type: application/json", body=b'{"a": 1}'),
        "upstream_malformed",
        0.5,
    ),
    "gzip-200": (
        whole(
            SSE_HEAD.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n")
            + chunk(b"\x1f\x8b\x08")
        ),
        "upstream_malformed",
        0.5,
    ),
    "invalid-chunk-size": (
        sse(TOKEN, then=lambda w: _then_hang(w, b"zz\r\nxx\r\n")),
        "upstream_malformed",
        0.5,
    ),
    "invalid-chunk-size-later": (
        sse(TOKEN, then=lambda w: _then_hang(w, b"zz\r\nxx\r\n", pause_s=0.2)),
        "upstream_malformed",
        0.5,
    ),
    # Redirects are never followed.
    "302-elsewhere": (
        head("302 Found", "location: http://127.0.0.1:9/v1/chat/completions"),
        "upstream_rejected",
        0.5,
    ),
    "307-to-itself": (
        head("307 Temporary Redirect", "location: /v1/chat/completions"),
        "upstream_rejected",
        0.5,
    ),
}


async def _then_hang(writer: asyncio.StreamWriter, raw: bytes, pause_s: float = 0.0) -> None:
    if pause_s:
        await asyncio.sleep(pause_s)  # the upstream's pace: the bad bytes come in a later read
    writer.write(raw)
    await writer.drain()
    await hang(writer)


@pytest.mark.parametrize(("script", "code", "within_s"), CASES.values(), ids=CASES.keys())
async def test_a_broken_upstream_ends_in_its_one_error_event(
    relay: Target,
    upstream: FakeUpstream,
    whole_after: None,
    script: Script,
    code: str,
    within_s: float,
) -> None:
    upstream.reset(script)
    record, took = await ask(relay)
    assert_error(record, code)
    assert took < within_s + SLACK_S, took
    assert all(isinstance(text, str) for text in record.texts)
    assert len(upstream.requests) == 1  # nothing here is retried or followed


@pytest.mark.parametrize(
    ("retry_after", "expected", "attempts"),
    [("nan", None, 2), ("inf", None, 2), ("-3", None, 2), ("soon", None, 2), ("1e308", 3600.0, 1)],
)
async def test_odd_retry_after_values_are_ignored_or_clamped(
    relay: Target,
    upstream: FakeUpstream,
    whole_after: None,
    retry_after: str,
    expected: float | None,
    attempts: int,
) -> None:
    upstream.reset(head("429 Too Many Requests", f"retry-after: {retry_after}"))
    record, took = await ask(relay)
    data = assert_error(record, "rate_limited")
    assert data.get("retry_after") == expected
    assert len(upstream.requests) == attempts  # a huge wait is not waited out; odd ones back off
    assert took < 2 * SLACK_S
