"""What a client saw of one stream, fed bytes and timestamps; no I/O, so every transport shares it.

Three wire dialects are understood: the service's protocol (`event: token|done|error`), the
OpenAI chunk stream (`data: {chunk}` ... `data: [DONE]`) that the mock and real APIs speak, and
"raw": the naive baseline's undelimited text, where each chunk read counts as one token and the
body's end counts as done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from service.sse import SSEDecoder

Dialect = Literal["service", "openai", "raw"]


@dataclass(slots=True)
class StreamRecord:
    """Timestamps are seconds on the caller's clock (`time.perf_counter()` by default)."""

    started_at: float
    status: int | None = None
    headers_at: float | None = None
    token_times: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    terminal: str | None = None
    """"done" or "error" (service), "done" on `[DONE]` (openai); None if the stream just ended."""
    terminal_data: dict[str, Any] | None = None
    ended_at: float | None = None
    aborted: bool = False
    aborted_at_wall: float | None = None
    """`time.time()` when the client closed the connection, to compare with a server's clock."""
    transport_error: str | None = None
    usage: dict[str, Any] | None = None
    event_ids: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    @property
    def tokens(self) -> int:
        return len(self.token_times)

    @property
    def ttft(self) -> float | None:
        """Seconds from request start to the first token."""
        return self.token_times[0] - self.started_at if self.token_times else None

    @property
    def gaps(self) -> list[float]:
        """Inter-token latencies in seconds, one per gap."""
        times = self.token_times
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    @property
    def duration(self) -> float | None:
        return self.ended_at - self.started_at if self.ended_at is not None else None

    @property
    def ok(self) -> bool:
        return self.terminal == "done" and self.transport_error is None and not self.aborted

    @property
    def error_code(self) -> str | None:
        if self.terminal == "error" and self.terminal_data is not None:
            code = self.terminal_data.get("code")
            return str(code) if code is not None else None
        return None


class StreamRecorder:
    """Feed it response bytes as they arrive; it fills a StreamRecord."""

    __slots__ = ("_decoder", "_dialect", "record")

    def __init__(self, record: StreamRecord, dialect: Dialect = "service") -> None:
        self.record = record
        self._dialect = dialect
        self._decoder = SSEDecoder()

    def feed(self, chunk: bytes, now: float) -> bool:
        """Consume bytes received at `now`; True once a terminal event has been seen."""
        record = self.record
        if self._dialect == "raw":
            record.token_times.append(now)
            record.texts.append(chunk.decode("utf-8", errors="replace"))
            return False
        for event in self._decoder.feed(chunk):
            if event.id is not None:
                record.event_ids.append(event.id)
            if self._dialect == "service":
                self._service_event(event.event, event.data, now)
            else:
                self._openai_event(event.data, now)
        return record.terminal is not None

    def _service_event(self, name: str, data: str, now: float) -> None:
        record = self.record
        if name == "token":
            record.token_times.append(now)
            record.texts.append(json.loads(data)["text"])
        elif name in ("done", "error"):
            record.terminal = name
            record.terminal_data = json.loads(data)
            if name == "done":
                usage = record.terminal_data.get("usage")
                record.usage = usage if isinstance(usage, dict) else None

    def _openai_event(self, data: str, now: float) -> None:
        record = self.record
        if data == "[DONE]":
            record.terminal = "done"
            return
        chunk = json.loads(data)
        if "error" in chunk:
            record.terminal = "error"
            record.terminal_data = chunk["error"]
            return
        if chunk.get("usage"):
            record.usage = chunk["usage"]
        for choice in chunk.get("choices", ()):
            content = choice.get("delta", {}).get("content")
            if content:
                record.token_times.append(now)
                record.texts.append(content)

    def finish(self, now: float, *, body_complete: bool = False) -> StreamRecord:
        """Close the record; a raw body that ended cleanly counts as done."""
        if body_complete and self._dialect == "raw" and not self.record.aborted:
            self.record.terminal = "done"
        self.record.ended_at = now
        return self.record
