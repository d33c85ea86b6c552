"""The timing client against a tiny real server: records, errors, aborts and time-outs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import listening_socket, serve_in_thread
from ghoststream.protocols.sse import encode_event

Scope = dict[str, Any]


async def _app(scope: Scope, receive: Any, send: Any) -> None:
    """Streams three tokens and a done event; /stall sends one token and then nothing."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/missing":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"no such thing"})
        return
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    texts = ["a", "b", "c"] if scope["path"] == "/three" else ["a"]
    if scope["path"] == "/echo-query":  # the query string, as the server received it
        texts = [scope["query_string"].decode()]
    for i, text in enumerate(texts):
        event = encode_event(json.dumps({"text": text}), "token", i)
        await send({"type": "http.response.body", "body": event, "more_body": True})
    if scope["path"] == "/stall":
        while (await receive())["type"] != "http.disconnect":
            pass
        return
    done = encode_event(json.dumps({"finish_reason": "stop"}), "done", len(texts))
    await send({"type": "http.response.body", "body": done})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(_app) as base:
        yield base


async def test_records_a_whole_stream(url: str) -> None:
    record = await timed_stream(f"{url}/three", {"x": 1})
    assert record.ok and record.status == 200
    assert record.text == "abc" and record.event_ids == ["0", "1", "2", "3"]
    assert record.ttft is not None and record.headers_at is not None


async def test_a_query_in_the_url_is_sent_with_the_params(url: str) -> None:
    record = await timed_stream(f"{url}/echo-query?prompt=Hi", method="GET", params={"n": "2"})
    assert record.text == "prompt=Hi&n=2"
    alone = await timed_stream(f"{url}/echo-query?prompt=Hi", method="GET")
    assert alone.text == "prompt=Hi"


async def test_an_http_error_keeps_its_status_and_body(url: str) -> None:
    record = await timed_stream(f"{url}/missing", method="GET")
    assert not record.ok
    assert record.terminal_data == {"status": 404, "body": "no such thing"}


async def test_abort_after_tokens_closes_early(url: str) -> None:
    record = await timed_stream(f"{url}/three", abort_after_tokens=1)
    assert record.aborted and record.aborted_at_wall is not None and not record.ok
    assert record.tokens >= 1 and record.terminal is None


async def test_a_stalled_stream_ends_at_the_timeout(url: str) -> None:
    record = await timed_stream(f"{url}/stall", timeout=0.3)
    assert record.transport_error == "no end after 0.3 s"
    assert record.tokens == 1 and record.duration is not None and record.duration >= 0.3


async def test_abort_after_seconds(url: str) -> None:
    record = await timed_stream(f"{url}/stall", abort_after_s=0.1)
    assert record.aborted and record.transport_error is None


async def test_a_refused_connection_is_a_transport_error() -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    record = await timed_stream(f"http://127.0.0.1:{port}/", {})
    assert record.transport_error is not None and record.transport_error.startswith("connect")


async def test_cancelling_the_caller_closes_the_connection(url: str) -> None:
    task = asyncio.create_task(timed_stream(f"{url}/stall"))
    await asyncio.sleep(0)  # let it start; cancellation is what is tested, not timing
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
