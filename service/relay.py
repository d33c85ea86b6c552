"""The streaming endpoints as plain ASGI: validate, open upstream, relay, end with one event.

Reads top to bottom: input -> response headers -> upstream -> relay loop -> terminal event.
A watcher task listens for `http.disconnect` for the stream's whole life and cancels it at once,
whatever it is waiting on (the first token, a stalled upstream, a send blocked on a client that
stopped reading); the one `finally` then closes the upstream, so the model stops generating.
Starlette's StreamingResponse would leave that to garbage collection, hence ASGI by hand.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any

import aiohttp
from orjson import dumps

from service import chat_input
from service.chat_input import ChatInput
from service.errors import InputError, input_error, stream_error_payload
from service.settings import Settings
from service.sse import encode_comment, encode_json_event
from service.upstream import ChunkParser, Upstream, UpstreamFailure, finish

Scope = dict[str, Any]
Receive = Any
Send = Any

log = logging.getLogger("ghoststream.relay")
_ID_PREFIX = secrets.token_hex(6)  # unique per process; the counter makes it unique per stream
_ID_COUNTER = itertools.count(1)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


async def send_json(
    send: Send, status: int, body: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, refused early when over `limit`; None if the client left."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise input_error("body_too_large", f"The body is over {limit} bytes.")
        if name == b"content-type" and not value.lower().startswith(b"application/json"):
            raise input_error("unsupported_media_type", "Send the body as application/json.")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise input_error("body_too_large", f"The body is over {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class Relay:
    """`GET /ask-ai` and `POST /api/chat`. `upstream` is set when the app starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.upstream: Upstream | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        try:
            if scope["method"] == "GET":
                chat = chat_input.from_query(scope["query_string"], self.settings)
            else:
                body = await read_body(scope, receive, self.settings.max_body_bytes)
                if body is None:
                    return
                chat = chat_input.from_body(body, self.settings)
        except InputError as error:
            await send_json(
                send, error.status, error.body(), [(b"x-request-id", request_id.encode())]
            )
            return
        assert self.upstream is not None, "the app's lifespan sets the upstream"
        await _Stream(self.settings, self.upstream, chat, request_id, send).run(receive)


class _Stream:
    """One relayed answer, from response headers to its single terminal event."""

    def __init__(
        self, settings: Settings, upstream: Upstream, chat: ChatInput, request_id: str, send: Send
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.chat = chat
        self.request_id = request_id
        self._send = send
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.last_sent = self.started
        self.first_token_at: float | None = None
        self.last_upstream = self.started
        self.expired: str | None = None
        self.task: asyncio.Task[Any]
        self.timer: asyncio.TimerHandle
        self.beat_timer: asyncio.TimerHandle | None = None
        self.helpers: list[asyncio.Task[Any]] = []
        self.tokens = 0
        self.event_id = 0
        self.disconnected = False
        self.finished = False
        self.debug = log.isEnabledFor(logging.DEBUG)

    async def run(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        helpers = self.helpers = [self.loop.create_task(self._watch(receive))]
        if self.settings.heartbeat_s > 0:
            self.beat_timer = self.loop.call_at(
                self.started + self.settings.heartbeat_s, self._heartbeat
            )
        self.timer = self.loop.call_at(
            self.started + self.settings.first_token_timeout_s, self._check_deadline
        )
        response: aiohttp.ClientResponse | None = None
        try:
            headers = [*STREAM_HEADERS, (b"x-request-id", self.request_id.encode())]
            await self.send({"type": "http.response.start", "status": 200, "headers": headers})
            try:
                response = await self.upstream.open(self.upstream.body(self.chat), self.request_id)
                await self._done(await self._relay(response))
            except UpstreamFailure as failure:
                log.warning("stream %s upstream failure %s", self.request_id, failure)
                await self._error(failure.code, failure.retry_after)
            except aiohttp.ClientError as error:
                log.warning(
                    "stream %s upstream transport %s", self.request_id, type(error).__name__
                )
                await self._error("upstream_disconnected")
        except asyncio.CancelledError:
            if self.disconnected:
                task.uncancel()
                log.info(
                    "stream %s cancelled by client after %d tokens (%.0f ms)",
                    self.request_id,
                    self.tokens,
                    (self.loop.time() - self.started) * 1000,
                )
            elif self.expired is not None:
                task.uncancel()
                log.warning("stream %s ended: %s", self.request_id, self.expired)
                await self._error(self.expired)
            else:
                raise
        finally:
            self.finished = True
            self.timer.cancel()
            if self.beat_timer is not None:
                self.beat_timer.cancel()
            for helper in helpers:
                helper.cancel()
            if response is not None:
                finish(response)

    async def _relay(self, response: aiohttp.ClientResponse) -> ChunkParser:
        parser = ChunkParser()
        loop = self.loop
        async for raw in response.content.iter_any():
            self.last_upstream = loop.time()  # read by the deadline timer; cheaper than re-arming
            texts = parser.feed(raw)
            if texts:
                if self.first_token_at is None:
                    self.first_token_at = self.last_upstream
                frames = []
                for text in texts:
                    self.event_id += 1
                    frames.append(encode_json_event(dumps({"text": text}), "token", self.event_id))
                self.tokens += len(texts)
                await self.send(
                    {"type": "http.response.body", "body": b"".join(frames), "more_body": True}
                )
                if self.debug:
                    log.debug("stream %s sent %d tokens", self.request_id, len(texts))
            if parser.failure is not None:
                raise parser.failure
            if parser.done:
                break
        if not parser.done and parser.finish_reason is None:
            raise UpstreamFailure("upstream_disconnected", detail="body ended without [DONE]")
        return parser

    def _check_deadline(self) -> None:
        """Timer callback: end the stream if the first token, or the next upstream bytes after
        it, are overdue. Re-arms itself instead of being rescheduled on every chunk."""
        if self.finished:
            return
        if self.first_token_at is None:
            self.expired = "first_token_timeout"
        else:
            due = self.last_upstream + self.settings.idle_timeout_s
            if self.loop.time() < due:
                self.timer = self.loop.call_at(due, self._check_deadline)
                return
            self.expired = "idle_timeout"
        self.task.cancel()

    async def send(self, message: dict[str, Any]) -> None:
        self.last_sent = self.loop.time()
        await self._send(message)

    async def _terminal(self, event: str, payload: dict[str, Any]) -> None:
        self.finished = True  # from here on, neither heartbeat nor watcher may act
        self.event_id += 1
        frame = encode_json_event(dumps(payload), event, self.event_id)
        await self.send({"type": "http.response.body", "body": frame, "more_body": False})

    async def _done(self, parser: ChunkParser) -> None:
        now = self.loop.time()
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        await self._terminal(
            "done",
            {
                "finish_reason": parser.finish_reason or "stop",
                "usage": parser.usage,
                "tokens": self.tokens,
                "ttft_ms": None if ttft is None else round(ttft * 1000, 1),
                "duration_ms": round((now - self.started) * 1000, 1),
                "request_id": self.request_id,
            },
        )

    async def _error(self, code: str, retry_after: float | None = None) -> None:
        await self._terminal("error", stream_error_payload(code, retry_after, self.request_id))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not self.finished:
                    self.disconnected = True
                    self.task.cancel()
                return

    def _heartbeat(self) -> None:
        """Timer callback: a comment when the stream has been quiet for the heartbeat interval.
        A timer rather than a task per stream: most streams end before it ever fires."""
        if self.finished:
            return
        due = self.last_sent + self.settings.heartbeat_s
        if self.loop.time() >= due:
            comment = {"type": "http.response.body", "body": encode_comment(), "more_body": True}
            self.helpers.append(self.loop.create_task(self.send(comment)))
            due = self.loop.time() + self.settings.heartbeat_s
        self.beat_timer = self.loop.call_at(due, self._heartbeat)
