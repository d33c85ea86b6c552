"""What every stream decoder shares: bytes in, output pieces out, the end kept on the side.

A decoder is fed a streamed response body as it arrives and returns the text pieces each read
completes. What ended the stream is kept rather than raised: `done` (the format's own end
marker), `failure` (an error event, or bytes that cannot be read), so the pieces that arrived
in the same read before it are still delivered. Decoders of LLM dialects normalise what they
report: `finish_reason` in Chat Completions' words (`stop`, `length`, `tool_calls`, ...) and
`usage` as `{"prompt_tokens", "completion_tokens", "total_tokens"}`, whatever the wire said.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ghoststream.protocols.sse import (
    DEFAULT_MAX_EVENT_BYTES,
    EventTooLarge,
    ServerSentEvent,
    SSEDecoder,
)

FailureKind = Literal["error", "malformed"]
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)
"""What reading a chunk of the wrong shape raises; each is a malformed stream, never a crash."""
_REASON = re.compile(r"[a-z_]{1,32}")


class DecodeFailure(Exception):
    """The stream reported an error (`kind="error"`, with its payload in `data`) or could not
    be read (`kind="malformed"`)."""

    def __init__(self, kind: FailureKind, detail: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.data = data


class StreamDecoder:
    """The base of every format's decoder; a subclass reads one SSE event in `_event`, appending
    output text to `self._out`, and raises `DecodeFailure` (or anything in `UNREADABLE`)."""

    __slots__ = (
        "_out",
        "_sse",
        "done",
        "event_ids",
        "failure",
        "finish_reason",
        "terminal_data",
        "tool_deltas",
        "usage",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._sse = SSEDecoder(max_event_bytes)
        self._out: list[str] = []
        self.done = False
        """The format's own end marker arrived: the stream is complete."""
        self.failure: DecodeFailure | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.terminal_data: dict[str, Any] | None = None
        """The terminal event's payload, for formats whose end carries one."""
        self.event_ids: list[str] = []
        self.tool_deltas = 0
        """Tool-call argument pieces seen so far: output that is not text."""

    @property
    def ended(self) -> bool:
        return self.done or self.failure is not None

    def feed(self, raw: bytes) -> list[str]:
        """The text pieces completed by `raw`; nothing once the stream has ended."""
        if self.done or self.failure is not None:
            return []
        out = self._out = []
        try:
            for event in self._sse.feed(raw):
                self._event(event)
                if self.done:
                    break
        except DecodeFailure as failure:
            self.failure = failure
        except EventTooLarge as error:
            self.failure = DecodeFailure("malformed", str(error))
        except UNREADABLE as error:
            self.failure = DecodeFailure("malformed", f"unreadable event: {type(error).__name__}")
        return out

    def end(self) -> None:
        """The body ended. A format whose end is the body's end marks itself done here."""

    def _event(self, event: ServerSentEvent) -> None:
        raise NotImplementedError


def reported_error(error: object, default: str = "error event in stream") -> DecodeFailure:
    """The failure an API's own error event reports: its message when it gave one as text."""
    found = error if type(error) is dict else None
    message = found.get("message") if found is not None else None
    return DecodeFailure("error", message if type(message) is str else default, found)


def finish_reason(value: object) -> str:
    """A finish reason as the wire gave it, if it is one: a short lower-case word."""
    if type(value) is not str or not _REASON.fullmatch(value):
        raise TypeError("finish reason")
    return value


def count(value: object) -> int:
    """A token count: a non-negative integer (not a bool, not a float)."""
    if type(value) is not int or value < 0:
        raise TypeError("token count")
    return value


def usage(prompt_tokens: object, completion_tokens: object) -> dict[str, int]:
    """Usage in the one shape every decoder reports, checked: counts or TypeError."""
    prompt, completion = count(prompt_tokens), count(completion_tokens)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
