"""The stream-timing client: one async implementation for tests and benchmarks.

It times what a browser would see: bytes are stamped as they come off the socket and decoded with
the project's SSE codec (`harness.records`). Load tests feed the same recorder from Locust's
gevent transport instead of this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from harness.records import Dialect, StreamRecord, StreamRecorder

Clock = Callable[[], float]


def chat_body(
    prompt: str, persona: str | None = None, max_tokens: int | None = None
) -> dict[str, Any]:
    """A `POST /api/chat` body for the service."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
    if persona is not None:
        body["persona"] = persona
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def openai_body(prompt: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A streamed `POST /v1/chat/completions` body for the mock or any OpenAI-compatible API."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


def new_client(max_connections: int = 2000, timeout: float = 30.0) -> httpx.AsyncClient:
    """An httpx client sized for many concurrent open streams."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )


async def timed_stream(
    client: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any] | None = None,
    *,
    method: str = "POST",
    params: Mapping[str, str] | None = None,
    dialect: Dialect = "service",
    headers: Mapping[str, str] | None = None,
    abort_after_tokens: int | None = None,
    clock: Clock = time.perf_counter,
) -> StreamRecord:
    """Send `body` (JSON) to `url` and record the stream; close after `abort_after_tokens` tokens.

    Closing leaves the `async with` without reading the rest, which drops the connection: the
    server sees a client disconnect, exactly as when a browser tab goes away.
    """
    record = StreamRecord(started_at=clock())
    recorder = StreamRecorder(record, dialect)
    try:
        async with client.stream(
            method, url, json=body, params=params, headers=headers
        ) as response:
            record.status = response.status_code
            record.headers_at = clock()
            if response.status_code != 200:
                await response.aread()
                record.terminal_data = {"status": response.status_code, "body": response.text}
                return recorder.finish(clock())
            async for chunk in response.aiter_raw():
                if recorder.feed(chunk, clock()):
                    break
                if abort_after_tokens is not None and record.tokens >= abort_after_tokens:
                    record.aborted = True
                    break
            else:
                return recorder.finish(clock(), body_complete=True)
    except httpx.HTTPError as exc:
        record.transport_error = type(exc).__name__
    return recorder.finish(clock())
