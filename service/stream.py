"""One relayed answer, from the upstream call to its single terminal event.

Reads top to bottom: open upstream -> relay loop (the response headers go out with the first
event) -> terminal event.
Three things may cut a stream short, and each is a cancellation of the stream's task with its
reason recorded first: the client going away (a watcher task listening for `http.disconnect`
the whole time, so it is seen at once whatever the stream is waiting on), a deadline (first
token, idle upstream, total duration: one self-re-arming timer), and the server shutting down.
The one `finally` closes the upstream, so the model stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from ghoststream.asgi import Message, Receive, Send, until_disconnect
from ghoststream.protocols import browser
from ghoststream.protocols.decoding import StreamDecoder
from service.chat_input import ChatInput
from service.errors import stream_error_payload
from service.metrics import Metrics
from service.settings import Settings
from service.upstream import OpenStream, Upstream, UpstreamFailure

log = logging.getLogger("ghoststream.stream")
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]
LAST_WORD_S = 0.5


class Stream:
    def __init__(
        self,
        settings: Settings,
        upstream: Upstream,
        metrics: Metrics,
        chat: ChatInput,
        request_id: str,
        send: Send,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.metrics = metrics
        self.chat = chat
        self.request_id = request_id
        self.log_extra = {"request_id": request_id}
        self._send = send
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.last_sent = self.started
        self.first_token_at: float | None = None
        self.last_upstream = self.started
        self.expired: str | None = None
        self.error_code: str | None = None
        self.task: asyncio.Task[Any]
        self.timer: asyncio.TimerHandle
        self.beat_timer: asyncio.TimerHandle | None = None
        self.helpers: list[asyncio.Task[Any]] = []
        self.tokens = 0
        self.event_id = 0
        self.headers_sent = False
        self.disconnected = False
        self.finished = False
        self.debug = log.isEnabledFor(logging.DEBUG)

    async def run(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.helpers.append(self.loop.create_task(self._watch(receive)))
        if self.settings.heartbeat_s > 0:
            self.beat_timer = self.loop.call_at(
                self.started + self.settings.heartbeat_s, self._heartbeat
            )
        self.timer = self.loop.call_at(self._next_deadline(), self._check_deadline)
        self.metrics.open_streams.inc()
        response: OpenStream | None = None
        try:
            try:
                body = self.upstream.body(
                    self.chat.conversation(self.settings), self.chat.max_tokens
                )
                response = await self.upstream.open(body, self.request_id)
                await self._done(await self._relay(response))
            except UpstreamFailure as failure:
                log.warning("upstream failure: %s", failure, extra=self.log_extra)
                await self._error(failure.code, failure.retry_after)
            except aiohttp.ClientError as error:
                log.warning("upstream transport: %s", type(error).__name__, extra=self.log_extra)
                await self._error("upstream_disconnected")
            except Exception:  # a bug: the client still gets its one terminal event
                log.exception("internal error", extra=self.log_extra)
                if not self.finished:
                    await self._error("internal_error")
        except asyncio.CancelledError:
            task.uncancel()
            await self._cut_short()
        finally:
            self.finished = True
            self.timer.cancel()
            if self.beat_timer is not None:
                self.beat_timer.cancel()
            for helper in self.helpers:
                helper.cancel()
            if response is not None:
                response.finish()
            self._account()

    async def _cut_short(self) -> None:
        """The task was cancelled: by the client leaving, a deadline, or the server stopping."""
        if self.disconnected:
            log.info(
                "cancelled by client after %d tokens",
                self.tokens,
                extra={**self.log_extra, "tokens": self.tokens, "duration_ms": self._ms()},
            )
            return
        code = self.expired or "shutdown"
        log.warning("ended early: %s", code, extra={**self.log_extra, "code": code})
        with contextlib.suppress(TimeoutError):  # a client that does not read is not waited for
            async with asyncio.timeout(LAST_WORD_S):
                await self._error(code)

    def _ms(self) -> float:
        return round((self.loop.time() - self.started) * 1000, 1)

    def _account(self) -> None:
        metrics = self.metrics
        metrics.open_streams.dec()
        metrics.tokens.inc(self.tokens)
        metrics.duration.observe(self.loop.time() - self.started)
        if self.first_token_at is not None:
            metrics.ttft.observe(self.first_token_at - self.started)
        if self.disconnected:
            metrics.streams.labels("cancelled").inc()
            metrics.cancellations.inc()
            metrics.cancelled_tokens.inc(self.tokens)
        elif self.error_code is not None:
            metrics.streams.labels("error").inc()
            metrics.stream_errors.labels(self.error_code).inc()
        else:
            metrics.streams.labels("done").inc()

    async def _relay(self, response: OpenStream) -> StreamDecoder:
        decoder = self.upstream.dialect.decoder()
        loop = self.loop
        async for raw in response.content.iter_any():
            texts = decoder.feed(raw)
            if texts:
                # Idle means "no token", not "no byte": keep-alives and comments do not count.
                # Read by the deadline timer; cheaper than re-arming it.
                self.last_upstream = loop.time()
                if self.first_token_at is None:
                    self.first_token_at = self.last_upstream
                    # From now on the idle deadline applies, which may come before the
                    # first-token deadline the timer was armed for.
                    self.timer.cancel()
                    self.timer = loop.call_at(self._next_deadline(), self._check_deadline)
                frames = []
                for text in texts:
                    self.event_id += 1
                    frames.append(browser.token(text, self.event_id))
                self.tokens += len(texts)
                await self.send(
                    {"type": "http.response.body", "body": b"".join(frames), "more_body": True}
                )
                if self.debug:
                    log.debug("sent %d tokens", len(texts), extra=self.log_extra)
            if decoder.failure is not None:
                failure = decoder.failure
                code = "upstream_error" if failure.kind == "error" else "upstream_malformed"
                raise UpstreamFailure(code, detail=failure.detail)
            if decoder.done:
                break
        if not decoder.done and decoder.finish_reason is None:
            raise UpstreamFailure("upstream_disconnected", detail="body ended before its end")
        return decoder

    async def send(self, message: Message) -> None:
        """Send a body message; the response headers go out just before the first one.

        Deferring the headers keeps a write (and the wake-up of the client it causes) off the
        path between the request and the upstream call; a heartbeat sends them anyway if the
        first token is slow, so no proxy waits long for them."""
        self.last_sent = self.loop.time()
        if not self.headers_sent:
            self.headers_sent = True
            headers = [*STREAM_HEADERS, (b"x-request-id", self.request_id.encode())]
            await self._send({"type": "http.response.start", "status": 200, "headers": headers})
        await self._send(message)

    async def _terminal(self, event: str, payload: dict[str, Any]) -> None:
        self.finished = True  # from here on, neither heartbeat nor watcher may act
        self.event_id += 1
        frame = browser.terminal(event, payload, self.event_id)
        await self.send({"type": "http.response.body", "body": frame, "more_body": False})

    async def _done(self, decoder: StreamDecoder) -> None:
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        await self._terminal(
            "done",
            {
                "finish_reason": decoder.finish_reason or "stop",
                "usage": decoder.usage,
                "tokens": self.tokens,
                "ttft_ms": None if ttft is None else round(ttft * 1000, 1),
                "duration_ms": self._ms(),
                "request_id": self.request_id,
            },
        )

    async def _error(self, code: str, retry_after: float | None = None) -> None:
        self.error_code = code
        await self._terminal("error", stream_error_payload(code, retry_after, self.request_id))

    async def _watch(self, receive: Receive) -> None:
        await until_disconnect(receive)
        if not self.finished:
            self.disconnected = True
            self.task.cancel()

    def _next_deadline(self) -> float:
        settings = self.settings
        total = self.started + settings.max_stream_s
        if self.first_token_at is None:
            return min(total, self.started + settings.first_token_timeout_s)
        return min(total, self.last_upstream + settings.idle_timeout_s)

    def _check_deadline(self) -> None:
        """Timer callback: end the stream if a deadline passed, else re-arm for the next one."""
        if self.finished:
            return
        now = self.loop.time()
        due = self._next_deadline()
        if now < due:
            self.timer = self.loop.call_at(due, self._check_deadline)
            return
        if now >= self.started + self.settings.max_stream_s:
            self.expired = "deadline_exceeded"
        elif self.first_token_at is None:
            self.expired = "first_token_timeout"
        else:
            self.expired = "idle_timeout"
        self.task.cancel()

    def _heartbeat(self) -> None:
        """Timer callback: a comment when the stream has been quiet for the heartbeat interval.
        A timer rather than a task per stream: most streams end before it ever fires."""
        if self.finished:
            return
        due = self.last_sent + self.settings.heartbeat_s
        if self.loop.time() >= due:
            comment = {"type": "http.response.body", "body": browser.heartbeat(), "more_body": True}
            self.helpers.append(self.loop.create_task(self.send(comment)))
            due = self.loop.time() + self.settings.heartbeat_s
        self.beat_timer = self.loop.call_at(due, self._heartbeat)
