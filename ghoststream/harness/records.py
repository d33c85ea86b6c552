"""What a client saw of one stream, fed bytes and timestamps; no I/O, so every transport shares it.

Any stream format in `ghoststream.protocols.FORMATS` is understood, through its one decoder:
ghoststream's own (`event: token|done|error`), every LLM dialect, and "raw" (the naive
baseline's undelimited text, where each read is one token and the body's end is done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghoststream.protocols import decoder_for


@dataclass(slots=True)
class StreamRecord:
    """Timestamps are seconds on the caller's clock (`time.perf_counter()` by default)."""

    started_at: float
    status: int | None = None
    headers_at: float | None = None
    token_times: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    terminal: str | None = None
    """"done" at the format's end marker, "error" at its error event; None if the stream just
    ended (or could not be read: then `transport_error` says so)."""
    terminal_data: dict[str, Any] | None = None
    ended_at: float | None = None
    aborted: bool = False
    aborted_at_wall: float | None = None
    """`time.time()` when the client closed the connection, to compare with a server's clock."""
    transport_error: str | None = None
    retry_after: float | None = None
    """Seconds a refusing server asked the client to wait (`Retry-After`, `retry-after-ms`)."""
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    event_ids: list[str] = field(default_factory=list)
    tool_times: list[float] = field(default_factory=list)
    """When each tool-call argument piece arrived: output that is not text."""

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
    """Feed it response bytes as they arrive; it fills a StreamRecord through the format's
    decoder (`ghoststream.protocols`): each text piece is a token stamped with its read's time."""

    __slots__ = ("_decoder", "_tools_seen", "record")

    def __init__(self, record: StreamRecord, dialect: str = "ghoststream") -> None:
        self.record = record
        self._decoder = decoder_for(dialect)
        self._tools_seen = 0
        record.event_ids = self._decoder.event_ids

    def feed(self, chunk: bytes, now: float) -> bool:
        """Consume bytes received at `now`; True once the stream has ended (done, error, or
        bytes that cannot be read)."""
        decoder = self._decoder
        texts = decoder.feed(chunk)
        record = self.record
        if texts:
            record.token_times.extend([now] * len(texts))
            record.texts.extend(texts)
        if decoder.tool_deltas != self._tools_seen:
            record.tool_times.extend([now] * (decoder.tool_deltas - self._tools_seen))
            self._tools_seen = decoder.tool_deltas
        if not decoder.ended:
            return False
        self._end()
        return True

    def _end(self) -> None:
        decoder, record = self._decoder, self.record
        record.usage = decoder.usage
        record.finish_reason = decoder.finish_reason
        if decoder.done:
            record.terminal = "done"
            record.terminal_data = decoder.terminal_data
        elif decoder.failure is not None:
            failure = decoder.failure
            if failure.kind == "error":
                record.terminal = "error"
                record.terminal_data = failure.data
            else:
                record.transport_error = f"unreadable event: {failure.detail}"

    def finish(self, now: float, *, body_complete: bool = False) -> StreamRecord:
        """Close the record; a format whose end is the body's end (raw) is done here."""
        decoder = self._decoder
        if body_complete and not decoder.ended and not self.record.aborted:
            decoder.end()
            if decoder.done:
                self._end()
        self.record.ended_at = now
        return self.record
