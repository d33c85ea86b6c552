"""The generation routes (`POST /v1/chat/completions`, `/v1/responses`, ...) as plain ASGI: the
mock's hot path, one implementation for every dialect.

Written against ASGI `send`/`receive` directly (no response classes, no middleware) so the mock
spends as little CPU per token as it can and is never the bottleneck of a load test. Tokens go
out on absolute deadlines (t0 + TTFT + i*ITL), so event-loop lag never accumulates into drift.
A watcher (`mock_llm.watcher`) cancels the stream the moment its client leaves, even in the
middle of a long TTFT, a stall, or a send blocked on a client that stopped reading. A scenario
with a recording is played back (`mock_llm.replay`) instead of generated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any

from ghoststream.asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_json
from ghoststream.protocols.dialect import (
    Answer,
    Dialect,
    GenerationRequest,
    InvalidRequest,
    StreamWriter,
)

from . import faults, replay
from .config import MockConfig, StreamPlan
from .engine import Engine, PrefixCache, first_token_ms, load_factor, prefill_ms
from .ledger import MAX_RECORDED_BODY_BYTES, Ledger, StreamEntry
from .planning import Pieces, pieces, plan
from .rate_limits import RateLimits
from .recording import Recording
from .scenarios import Scenario
from .watcher import watched

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


class Generation:
    """The ASGI app behind one dialect's generation route."""

    def __init__(
        self,
        dialect: Dialect,
        config: MockConfig,
        ledger: Ledger,
        scenarios: list[Scenario],
        fault_tally: faults.FaultTally,
        rate_limits: RateLimits,
        engine: Engine | None = None,
        prefix_cache: PrefixCache | None = None,
    ) -> None:
        self.engine = engine
        self.prefix_cache = prefix_cache
        self.fault_tally = fault_tally
        self.rate_limits = rate_limits
        self.dialect = dialect
        self.config = config
        self.ledger = ledger
        self.scenarios = scenarios

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dialect = self.dialect
        headers = _headers(scope)
        request_id = headers.get("x-request-id") or f"req_{secrets.token_hex(16)}"
        own = dialect.response_headers(request_id)
        key = self.config.api_key
        if key is not None and not dialect.authorized(headers, key):
            await send_json(send, 401, dialect.error_body(401), own)
            return
        try:
            raw = await read_body(receive, self.config.max_body_bytes)
            if raw is None:
                return
            request = dialect.parse_request(raw, headers)
            stream_plan, scenario = plan(
                self.config, request, headers, self.scenarios, dialect.name
            )
        except InvalidRequest as error:
            body = dialect.error_body(error.status, error.message, error.param)
            await send_json(send, error.status, body, own)
            return
        except BodyTooLarge as error:
            body = dialect.error_body(413, f"Request body over {error.args[0]} bytes.")
            await send_json(send, 413, body, own)
            return
        limit = self.config.max_concurrency
        if limit is not None and self.ledger.counters.open >= limit:
            self.ledger.counters.rejected += 1
            await send_json(
                send, 429, dialect.error_body(429), own + faults.retry_after_headers(1000)
            )
            return
        if scenario is not None and scenario.recording is not None:
            recorded = scenario.recording
            await self._replay(receive, send, recorded, stream_plan, request, raw, headers, own)
            return
        engine = self.engine
        if engine is not None and engine.full():  # vLLM's bounded queue refuses with a 503
            self.ledger.counters.rejected += 1
            await send_json(send, 503, dialect.error_body(503), own)
            return
        answer = pieces(request, stream_plan, dialect.new_call_id())
        budget: list[tuple[bytes, bytes]] = []
        if self.rate_limits.enabled:
            cost = request.prompt_tokens + answer.count
            wait, budget = self.rate_limits.admit(cost, dialect.name == "anthropic")
            if wait is not None:
                self.ledger.counters.rejected += 1
                wait_ms = math.ceil(min(wait, 3600.0) * 1000)
                extra = own + faults.retry_after_headers(wait_ms, budget)
                await send_json(send, 429, dialect.error_body(429), extra)
                return
        # Only a request that got this far meets its fault: a refusal above spends none of a
        # `fault_times` sequence.
        if not self._fault_strikes(stream_plan, raw):
            stream_plan = dataclasses.replace(stream_plan, fault=None)
        cache, prompt_tokens = self.prefix_cache, request.prompt_tokens
        cached = 0 if cache is None else cache.cached_tokens(request.messages, prompt_tokens)
        entry = self.ledger.open(
            self._entry(
                request,
                raw,
                headers,
                id=dialect.new_id(),
                mode=stream_plan.mode,
                scenario=stream_plan.scenario,
                fault=stream_plan.fault,
                tokens_planned=answer.count,
                ttft_ms=stream_plan.ttft_ms,
                itl_ms=stream_plan.itl_ms,
                prefill_ms=prefill_ms(
                    prompt_tokens - cached,
                    stream_plan.prefill_ms_per_token,
                    stream_plan.prefill_overhead_ms,
                ),
                cached_tokens=cached,
            )
        )
        if faults.is_http(stream_plan.fault):
            self.ledger.close(entry, "fault")
            fault = str(stream_plan.fault)
            await faults.answer_http(send, dialect, fault, stream_plan.retry_after_ms, own, budget)
            return
        run = _Run(send, dialect, request, stream_plan, entry, self.ledger, answer, own + budget)
        await run.watched(receive, engine)

    def _fault_strikes(self, stream_plan: StreamPlan, raw: bytes) -> bool:
        """Whether the plan's fault happens to this request: always, unless `fault_times` or
        `fault_rate` makes it depend on how often this very request came (only then is it
        hashed and counted)."""
        if stream_plan.fault is None:
            return False
        if stream_plan.fault_times is None and stream_plan.fault_rate >= 1:
            return True
        return self.fault_tally.strikes(
            faults.request_key(self.dialect.path, raw),
            stream_plan.fault_times,
            stream_plan.fault_rate,
            stream_plan.seed,
        )

    def _entry(
        self, request: GenerationRequest, raw: bytes, headers: dict[str, str], **plan: Any
    ) -> StreamEntry:
        """A ledger entry: what the request was, as received, and `plan`, what it got."""
        return StreamEntry(
            api=self.dialect.name,
            model=request.model,
            stream=request.stream,
            request_id=headers.get("x-request-id"),
            prompt_chars=request.prompt_chars,
            started_at=time.time(),
            request_body=raw[:MAX_RECORDED_BODY_BYTES],
            request_bytes=len(raw),
            request_headers=headers,
            **plan,
        )

    async def _replay(
        self,
        receive: Receive,
        send: Send,
        recorded: Recording,
        stream_plan: StreamPlan,
        request: GenerationRequest,
        raw: bytes,
        headers: dict[str, str],
        own: list[tuple[bytes, bytes]],
    ) -> None:
        """Serve a recorded scenario as recorded: none of the mock's own schedule, text, faults,
        engine or budgets apply, only `replay_speed`."""
        speed, counts = stream_plan.replay_speed, recorded.counts
        ttft_ms, itl_ms = replay.schedule(recorded, counts, speed)
        entry = self.ledger.open(
            self._entry(
                request,
                raw,
                headers,
                id=recorded.answer_id or self.dialect.new_id(),
                mode="replay",
                scenario=stream_plan.scenario,
                fault=None,
                tokens_planned=counts[-1] if counts else 0,
                ttft_ms=ttft_ms,
                itl_ms=itl_ms,
            )
        )
        ledger = self.ledger
        await watched(
            receive,
            ledger,
            entry,
            lambda: replay.play(send, recorded, counts, speed, own, entry, ledger),
        )


class _Run:
    """One response being produced, stream or not, under a disconnect watcher."""

    def __init__(
        self,
        send: Send,
        dialect: Dialect,
        request: GenerationRequest,
        stream_plan: StreamPlan,
        entry: StreamEntry,
        ledger: Ledger,
        answer: Pieces,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.send = send
        self.dialect = dialect
        self.request = request
        self.plan = stream_plan
        self.entry = entry
        self.ledger = ledger
        self.answer = answer
        self.headers = headers
        """The dialect's response headers and the rate-limit state."""
        self.engine: Engine | None = None
        """Set once the stream holds an engine slot, which the `finally` gives back."""

    async def watched(self, receive: Receive, engine: Engine | None = None) -> None:
        try:
            await watched(receive, self.ledger, self.entry, lambda: self._produce(engine))
        finally:
            if self.engine is not None:
                self.engine.release()

    async def _produce(self, engine: Engine | None) -> None:
        if engine is not None:  # wait for a slot: the client's leaving cancels the wait
            loop = asyncio.get_running_loop()
            queued_at = loop.time()
            try:
                await engine.acquire()
            finally:
                self.entry.queue_wait_ms = (loop.time() - queued_at) * 1000
            self.engine = engine
        if self.request.stream:
            await self._stream()
        else:
            await self._whole()

    def _deadlines(self, start: float) -> Iterator[float]:
        if self.engine is not None:
            return self._loaded_deadlines(start, self.engine)
        first = start + (self.plan.ttft_ms + self.entry.prefill_ms) / 1000
        itl = self.plan.itl_ms / 1000
        if self.plan.jitter_ms <= 0:
            return (first + i * itl for i in itertools.count())
        rng = random.Random(self.plan.seed ^ 0x5EED)
        jitter = self.plan.jitter_ms / 1000
        return (first + i * itl + rng.uniform(0, jitter) for i in itertools.count())

    def _loaded_deadlines(self, start: float, engine: Engine) -> Iterator[float]:
        """Deadlines under load: the first scaled by the batch at admission (read now, not when
        the first deadline is asked for), each gap by the batch running when it starts
        (continuous batching); jitter as unloaded."""
        stream_plan, entry = self.plan, self.entry
        running = engine.running
        entry.batch_at_start = entry.batch_max = running
        factor = load_factor(running, engine.max_num_seqs, stream_plan.load_factor)
        first = start + first_token_ms(stream_plan.ttft_ms, entry.prefill_ms, factor) / 1000
        return self._loaded_gaps(first, engine, running)

    def _loaded_gaps(self, first: float, engine: Engine, peak: int) -> Iterator[float]:
        stream_plan, entry = self.plan, self.entry
        seqs, factor = engine.max_num_seqs, stream_plan.load_factor
        itl = stream_plan.itl_ms / 1000
        rng = random.Random(stream_plan.seed ^ 0x5EED) if stream_plan.jitter_ms > 0 else None
        jitter = stream_plan.jitter_ms / 1000
        base = first
        while True:
            yield base if rng is None else base + rng.uniform(0, jitter)
            running = engine.running
            if running > peak:
                peak = entry.batch_max = running
            base += itl * load_factor(running, seqs, factor)

    async def _whole(self) -> None:
        loop = asyncio.get_running_loop()
        answer = self.answer
        deadlines = self._deadlines(loop.time())
        text = "".join(answer.text)
        deadline = next(itertools.islice(deadlines, max(0, answer.count - 1), None))
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        entry = self.entry
        entry.first_token_at = time.time()
        entry.tokens_sent = answer.count
        call = answer.call
        if call is not None and answer.reason == "length":
            call = None  # cut short, the arguments would not parse: no call, as the APIs do
        body = self.dialect.whole(
            self.request,
            Answer(
                id=entry.id,
                created=int(entry.started_at),
                text=text,
                tool_calls=[call] if call is not None else [],
                reason=answer.reason,
                prompt_tokens=self.request.prompt_tokens,
                completion_tokens=answer.count,
            ),
        )
        self.ledger.close(entry, "completed")
        await send_json(self.send, 200, body, self.headers)

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        send = self.send
        stream_plan = self.plan
        entry = self.entry
        answer = self.answer
        writer = self.dialect.writer(entry.id, int(entry.started_at), self.request)
        deadlines = self._deadlines(loop.time())
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": STREAM_HEADERS + self.headers,
        }
        await faults.header_delay(stream_plan.fault, stream_plan.ttft_ms)
        await send(start)
        fault = stream_plan.fault
        fault_at = stream_plan.fault_after if faults.strikes_midstream(fault) else -1
        pending = writer.start()
        sent = 0
        for frame_of, piece in self._frames(writer):
            if sent == fault_at:
                await faults.end_midstream(str(fault), send, writer, pending)
                self.ledger.close(entry, "fault")
                return
            delay = next(deadlines) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif sent & 63 == 63:
                await asyncio.sleep(0)  # nothing was due to wait: let other streams run
            frame = frame_of(piece)
            if sent == 0:  # the opening frames (none, in some dialects) ride with the first piece
                frame, pending = pending + frame, b""
                entry.first_token_at = time.time()
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            sent += 1
            entry.tokens_sent = sent
        if fault_at >= 0:  # asked for after the last token: fault at the end instead
            await faults.end_midstream(str(fault), send, writer, pending)
            self.ledger.close(entry, "fault")
            return
        tail = pending + writer.finish(answer.reason, self.request.prompt_tokens, sent)
        await send({"type": "http.response.body", "body": tail, "more_body": False})
        self.ledger.close(entry, "completed")

    def _frames(self, writer: StreamWriter) -> Iterator[tuple[Any, str]]:
        """Each piece with the writer method that frames it; a tool call's opening frame rides
        with its first argument piece."""
        answer = self.answer
        for piece in answer.text:
            yield writer.text, piece
        call = answer.call
        if call is None:
            return
        opening = writer.tool_call(call)
        for index, piece in enumerate(answer.arguments):
            if index == 0:
                yield (lambda p: opening + writer.tool_arguments(p)), piece
            else:
                yield writer.tool_arguments, piece
