"""What happened to every stream: the evidence tests and benchmarks assert on.

Each request gets a `StreamEntry`; its `outcome` moves from `open` to exactly one of `completed`,
`cancelled` (the client went away) or `fault` (an injected fault ended it). Waiters long-poll for
"no stream open" on a condition, so nobody sleeps in a loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["open", "completed", "cancelled", "fault"]
MAX_RECORDED_BODY_BYTES = 8192
"""A request body is kept up to this size, so the ledger stays small under load."""
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie"})


def received_body(kept: bytes, size: int) -> Any:
    """The body as JSON when it was kept whole and parses; else the text that was kept."""
    if len(kept) == size:
        try:
            return json.loads(kept)
        except ValueError:
            pass
    return kept.decode("utf-8", errors="replace")


def redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers as received, with credentials replaced: the ledger is readable by anyone."""
    return {k: "[redacted]" if k in SECRET_HEADERS else v for k, v in headers.items()}


@dataclass(slots=True)
class StreamEntry:
    id: str
    api: str
    """The dialect the request spoke (`chat`, `responses`, `anthropic`, `completions`)."""
    model: str
    stream: bool
    mode: str
    scenario: str | None
    fault: str | None
    tokens_planned: int
    ttft_ms: float
    itl_ms: float
    request_id: str | None
    prompt_chars: int
    started_at: float
    first_token_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome = "open"
    tokens_sent: int = 0
    queue_wait_ms: float = 0.0
    """Time spent waiting for an engine slot (`--max-num-seqs`): part of the TTFT."""
    prefill_ms: float = 0.0
    """The prompt's prefill before load scaling (`prefill_overhead_ms`, `prefill_ms_per_token`)."""
    cached_tokens: int = 0
    """Prompt tokens found in the prefix cache (`--prefix-cache`), left out of the prefill."""
    batch_at_start: int | None = None
    """Streams running (this one included) when it got its slot: what its TTFT was scaled by."""
    batch_max: int | None = None
    """The largest batch any of its tokens was scheduled under."""

    request_body: bytes = b""
    """The first `MAX_RECORDED_BODY_BYTES` of the body, so a test can assert what its
    service sent upstream; `as_dict` gives it as JSON."""
    request_bytes: int = 0
    request_headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["request_body"] = received_body(self.request_body, self.request_bytes)
        record["request_headers"] = redacted(self.request_headers)
        return record


@dataclass
class Counters:
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    faulted: int = 0
    open: int = 0
    tokens_sent: int = 0
    tokens_saved: int = 0
    rejected: int = 0


class Ledger:
    """Recent streams in arrival order (bounded) plus running counters."""

    def __init__(self, history: int = 10_000) -> None:
        self.entries: deque[StreamEntry] = deque(maxlen=history)
        self.counters = Counters()
        self._closed: asyncio.Condition | None = None

    def open(self, entry: StreamEntry) -> StreamEntry:
        self.entries.append(entry)
        self.counters.started += 1
        self.counters.open += 1
        return entry

    def close(self, entry: StreamEntry, outcome: Outcome) -> None:
        """Record the end of a stream once; later calls for the same entry are ignored."""
        if entry.outcome != "open":
            return
        entry.outcome = outcome
        entry.ended_at = time.time()
        counters = self.counters
        counters.open -= 1
        counters.tokens_sent += entry.tokens_sent
        if outcome == "completed":
            counters.completed += 1
        elif outcome == "cancelled":
            counters.cancelled += 1
            counters.tokens_saved += max(0, entry.tokens_planned - entry.tokens_sent)
        else:
            counters.faulted += 1
        if self._closed is not None:
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        assert self._closed is not None
        async with self._closed:
            self._closed.notify_all()

    async def wait_until_closed(self, timeout: float) -> bool:
        """Wait until no stream is open; False if `timeout` passed first."""
        if self._closed is None:
            self._closed = asyncio.Condition()
        try:
            async with asyncio.timeout(timeout):
                async with self._closed:
                    await self._closed.wait_for(lambda: self.counters.open == 0)
        except TimeoutError:
            return False
        return True

    def stats(self) -> dict[str, int]:
        live = sum(entry.tokens_sent for entry in self.entries if entry.outcome == "open")
        stats = asdict(self.counters)
        stats["tokens_sent"] += live
        return stats

    def requests(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.entries]

    def reset(self) -> None:
        """Forget finished streams and zero the counters; open streams stay counted as open."""
        still_open = [entry for entry in self.entries if entry.outcome == "open"]
        self.entries.clear()
        self.entries.extend(still_open)
        self.counters = Counters(started=len(still_open), open=len(still_open))
