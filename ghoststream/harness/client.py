"""The stream-timing client: one lean async implementation for tests and benchmarks.

It times what a browser would see: each read off the socket is stamped and fed to the shared
recorder (`ghoststream.harness.records`). It speaks HTTP/1.1 itself over an asyncio protocol
with httptools' C parser (the one uvicorn uses), one connection per stream, because a
general-purpose client spends more CPU per chunk than the servers under test and would time its
own backlog at a thousand concurrent streams. Load tests feed the same recorder from Locust's
transport instead.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httptools

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.harness.request import wire_request
from ghoststream.harness.response import ResponseReader
from ghoststream.protocols import dialect

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


@dataclass(frozen=True)
class ApiRequest:
    """A streamed request in one LLM API's dialect: where it goes, its body and headers."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str]
    dialect: str


def api_request(
    api: str,
    base_url: str,
    prompt: str,
    model: str = "gpt-4o-mini",
    key: str | None = None,
    max_tokens: int | None = None,
) -> ApiRequest:
    """One user prompt as `api` (`chat`, `responses`, `anthropic`, `completions`) asks it, at
    `base_url` as that API's SDK takes it (OpenAI's ends in `/v1`, Anthropic's does not)."""
    speaks = dialect(api)
    headers = {**speaks.extra_headers(), **(speaks.auth_headers(key) if key else {})}
    body = speaks.build_request(model, [("user", prompt)], max_tokens)
    return ApiRequest(speaks.url(base_url), body, headers, api)


def openai_body(prompt: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A streamed `POST /v1/chat/completions` body for the mock or any OpenAI-compatible API."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


class _StreamProtocol(asyncio.Protocol):
    """Feeds response bytes to the reader as they arrive; resolves `done` at the end."""

    def __init__(
        self,
        recorder: StreamRecorder,
        clock: Clock,
        done: asyncio.Future[None],
        abort_after_tokens: int | None,
    ) -> None:
        self.recorder = recorder
        self.record = recorder.record
        self.reader = ResponseReader(recorder, abort_after_tokens)
        self.clock = clock
        self.done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        try:
            self.reader.feed(data, self.clock())
        except httptools.HttpParserError as exc:
            self.finish(transport_error=f"bad response: {exc}")
            return
        if self.reader.limit_reached:
            self.abort()
        elif self.reader.terminal or self.reader.complete:
            self.finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.finish(transport_error="connection lost before the stream ended")

    def abort(self) -> None:
        """Go away like a closed browser tab: close the connection mid-stream."""
        if not self.done.done():
            self.record.aborted = True
            self.record.aborted_at_wall = time.time()
            self.finish()

    def finish(self, transport_error: str | None = None) -> None:
        if self.done.done():
            return
        if transport_error is not None:
            self.record.transport_error = transport_error
        self.recorder.finish(self.clock(), body_complete=self.reader.complete)
        if self.transport is not None:
            self.transport.close()
        self.done.set_result(None)


async def timed_stream(
    url: str,
    body: Mapping[str, Any] | None = None,
    *,
    method: str = "POST",
    params: Mapping[str, str] | None = None,
    dialect: str = "ghoststream",
    headers: Mapping[str, str] | None = None,
    abort_after_tokens: int | None = None,
    abort_after_s: float | None = None,
    timeout: float = 60.0,
    clock: Clock = time.perf_counter,
) -> StreamRecord:
    """Send a request (JSON `body`, if any) to `url` and record the stream as it arrives.

    Abort (close the connection, as a browser does) after `abort_after_tokens` tokens or
    `abort_after_s` seconds; a stream still open after `timeout` seconds is closed and recorded
    with a transport error, so nothing waits forever.
    """
    payload = json.dumps(body).encode() if body is not None else None
    request = wire_request(method, url, payload, headers, params)

    loop = asyncio.get_running_loop()
    record = StreamRecord(started_at=clock())
    done: asyncio.Future[None] = loop.create_future()
    protocol = _StreamProtocol(StreamRecorder(record, dialect), clock, done, abort_after_tokens)
    try:
        transport, _ = await loop.create_connection(
            lambda: protocol,
            request.host,
            request.port,
            ssl=ssl.create_default_context() if request.secure else None,
        )
    except OSError as exc:
        record.transport_error = f"connect failed: {exc.strerror or exc}"
        record.ended_at = clock()
        return record
    transport.write(request.data)
    timer = loop.call_later(abort_after_s, protocol.abort) if abort_after_s is not None else None
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except TimeoutError:
        protocol.finish(transport_error=f"no end after {timeout} s")
    finally:
        if timer is not None:
            timer.cancel()
        if not done.done():  # cancelled by our caller: still close the connection
            protocol.abort()
    return record
