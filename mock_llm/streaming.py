"""`POST /v1/chat/completions` as a plain ASGI app: the mock's hot path.

Written against ASGI `send`/`receive` directly (no response classes, no middleware) so the mock
spends as little CPU per token as it can and is never the bottleneck of a load test. Tokens go
out on absolute deadlines (t0 + TTFT + i*ITL), so event-loop lag never accumulates into drift.
A watcher task listens for `http.disconnect` the whole time and cancels the stream at once, even
in the middle of a long TTFT, a stall, or a send blocked on a client that stopped reading.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any

from mock_llm import content, controls, wire
from mock_llm.asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_json
from mock_llm.chat_request import ChatRequest, RequestError, parse, plan
from mock_llm.config import HTTP_FAULTS, MockConfig, StreamPlan
from mock_llm.ledger import Ledger, StreamEntry
from mock_llm.scenarios import Scenario

MAX_HEADER_DELAY_S = 3600.0


class DropConnection(Exception):
    """Raised to make the server close the TCP connection mid-body, with no terminator."""


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


def _pieces(request: ChatRequest, stream_plan: StreamPlan) -> tuple[Iterator[str], int, str]:
    """The answer's pieces, how many will be sent, and the finish reason."""
    if stream_plan.mode == "prose":
        natural = stream_plan.tokens
        source: Iterator[str] = content.prose(content.stream_seed(stream_plan.seed, request.digest))
    else:
        text = (
            stream_plan.fixed_text or ""
            if stream_plan.mode == "fixed"
            else controls.strip_directives(request.last_user_text)
        )
        pieces = content.split_text(text)
        natural, source = len(pieces), iter(pieces)
    count = natural if request.max_tokens is None else min(natural, request.max_tokens)
    reason = "length" if count < natural else "stop"
    return itertools.islice(source, count), count, reason


def _retry_after_headers(after_ms: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"retry-after", str(math.ceil(after_ms / 1000)).encode()),
        (b"retry-after-ms", str(after_ms).encode()),
        (b"x-ratelimit-limit-requests", b"500"),
        (b"x-ratelimit-remaining-requests", b"0"),
    ]


class ChatCompletions:
    """The ASGI app behind `POST /v1/chat/completions`."""

    def __init__(self, config: MockConfig, ledger: Ledger, scenarios: list[Scenario]) -> None:
        self.config = config
        self.ledger = ledger
        self.scenarios = scenarios

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        key = self.config.api_key
        if key is not None and headers.get("authorization") != f"Bearer {key}":
            body = wire.error_body(
                "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
            await send_json(send, 401, body)
            return
        try:
            raw = await read_body(receive, self.config.max_body_bytes)
            if raw is None:
                return
            request = parse(raw)
            stream_plan, _ = plan(self.config, request, headers, self.scenarios)
        except RequestError as error:
            await send_json(send, error.status, error.body)
            return
        except BodyTooLarge as error:
            limit = error.args[0]
            await send_json(send, 413, wire.invalid_request(f"Request body over {limit} bytes."))
            return
        limit = self.config.max_concurrency
        if limit is not None and self.ledger.counters.open >= limit:
            self.ledger.counters.rejected += 1
            status, body = wire.HTTP_FAULT_BODIES["http_429"]
            await send_json(send, status, body, _retry_after_headers(1000))
            return
        pieces, count, reason = _pieces(request, stream_plan)
        entry = self.ledger.open(
            StreamEntry(
                id=wire.completion_id(),
                model=request.model,
                stream=request.stream,
                mode=stream_plan.mode,
                scenario=stream_plan.scenario,
                fault=stream_plan.fault,
                tokens_planned=count,
                ttft_ms=stream_plan.ttft_ms,
                itl_ms=stream_plan.itl_ms,
                request_id=headers.get("x-request-id"),
                prompt_chars=request.prompt_chars,
                started_at=time.time(),
            )
        )
        if stream_plan.fault in HTTP_FAULTS:
            self.ledger.close(entry, "fault")
            await self._http_fault(send, stream_plan)
            return
        run = _Run(send, request, stream_plan, entry, self.ledger, pieces, reason)
        await run.watched(receive)

    @staticmethod
    async def _http_fault(send: Send, stream_plan: StreamPlan) -> None:
        status, body = wire.HTTP_FAULT_BODIES[str(stream_plan.fault)]
        extra: list[tuple[bytes, bytes]] = [
            (b"x-request-id", f"req_{secrets.token_hex(16)}".encode())
        ]
        if status == 429:
            extra += _retry_after_headers(stream_plan.retry_after_ms)
        await send_json(send, status, body, extra)


class _Run:
    """One response being produced, stream or not, under a disconnect watcher."""

    def __init__(
        self,
        send: Send,
        request: ChatRequest,
        stream_plan: StreamPlan,
        entry: StreamEntry,
        ledger: Ledger,
        pieces: Iterator[str],
        reason: str,
    ) -> None:
        self.send = send
        self.request = request
        self.plan = stream_plan
        self.entry = entry
        self.ledger = ledger
        self.pieces = pieces
        self.reason = reason
        self.disconnected = False
        self.finished = False

    async def watched(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.get_running_loop().create_task(self._watch(receive, task))
        try:
            if self.request.stream:
                await self._stream()
            else:
                await self._whole()
        except asyncio.CancelledError:
            if not self.disconnected:
                self.ledger.close(self.entry, "cancelled")
                raise
            task.uncancel()
            self.ledger.close(self.entry, "cancelled")
        except Exception:  # DropConnection, or anything unforeseen: never leave the entry open
            self.ledger.close(self.entry, "fault")
            raise
        finally:
            self.finished = True
            watcher.cancel()

    async def _watch(self, receive: Receive, task: asyncio.Task[Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not self.finished:
                    self.disconnected = True
                    task.cancel()
                return

    def _deadlines(self, start: float) -> Iterator[float]:
        first = start + self.plan.ttft_ms / 1000
        itl = self.plan.itl_ms / 1000
        if self.plan.jitter_ms <= 0:
            return (first + i * itl for i in itertools.count())
        rng = random.Random(self.plan.seed ^ 0x5EED)
        jitter = self.plan.jitter_ms / 1000
        return (first + i * itl + rng.uniform(0, jitter) for i in itertools.count())

    async def _whole(self) -> None:
        loop = asyncio.get_running_loop()
        deadlines = self._deadlines(loop.time())
        text_parts = list(self.pieces)
        deadline = next(itertools.islice(deadlines, max(0, len(text_parts) - 1), None))
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        self.entry.first_token_at = time.time()
        self.entry.tokens_sent = len(text_parts)
        body = wire.completion(
            self.entry.id,
            int(self.entry.started_at),
            self.request.model,
            "".join(text_parts),
            self.reason,
            self.request.prompt_tokens,
            len(text_parts),
        )
        self.ledger.close(self.entry, "completed")
        await send_json(self.send, 200, body, self._response_headers()[1:])

    def _response_headers(self) -> list[tuple[bytes, bytes]]:
        request_id = self.entry.request_id or f"req_{secrets.token_hex(16)}"
        return [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-request-id", request_id.encode("latin-1", "replace")),
            (b"openai-version", b"2020-10-01"),
            (b"openai-processing-ms", b"1"),
        ]

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        send = self.send
        stream_plan = self.plan
        entry = self.entry
        writer = wire.ChunkWriter(
            entry.id, int(entry.started_at), self.request.model, self.request.include_usage
        )
        deadlines = self._deadlines(loop.time())
        start = {"type": "http.response.start", "status": 200, "headers": self._response_headers()}
        if stream_plan.fault == "slow_headers":
            await asyncio.sleep(min(stream_plan.ttft_ms / 1000, MAX_HEADER_DELAY_S))
        await send(start)
        fault = stream_plan.fault
        fault_at = -1 if fault in (None, "slow_headers") else stream_plan.fault_after
        pending = writer.role()
        sent = 0
        for piece in self.pieces:
            if sent == fault_at:
                await self._fault(pending)
                return
            delay = next(deadlines) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif sent & 63 == 63:
                await asyncio.sleep(0)  # nothing was due to wait: let other streams run
            frame = writer.content(piece)
            if pending:
                frame, pending = pending + frame, b""
                entry.first_token_at = time.time()
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            sent += 1
            entry.tokens_sent = sent
        if fault_at >= 0:  # asked for after the last token: fault at the end instead
            await self._fault(pending)
            return
        tail = pending + writer.finish(self.reason)
        if writer.include_usage:
            tail += writer.usage(self.request.prompt_tokens, sent)
        await send({"type": "http.response.body", "body": tail + wire.DONE, "more_body": False})
        self.ledger.close(entry, "completed")

    async def _fault(self, pending: bytes) -> None:
        """End the stream the way `fault` says; `pending` is an unsent role chunk, if any."""
        fault = self.plan.fault
        if fault == "error_midstream":
            frame = wire.error_event("The server had an error while processing your request.")
        elif fault == "malformed_midstream":
            frame = b'data: {"id":"' + self.entry.id.encode() + b'","object":"chat.compl\n\n'
        elif fault == "drop_midstream":
            if pending:
                await self.send({"type": "http.response.body", "body": pending, "more_body": True})
            raise DropConnection()
        elif fault == "stall_midstream":
            await asyncio.Event().wait()  # until the client gives up and the watcher cancels
            return
        else:
            frame = b""
        self.ledger.close(self.entry, "fault")
        await self.send({"type": "http.response.body", "body": pending + frame, "more_body": False})
