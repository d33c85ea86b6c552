"""Server-Sent Events codec: pure functions and a byte-fed decoder, no I/O.

One implementation for the whole project: the service encodes with it, and the harness (tests,
benchmarks, load tests) decodes with it. Follows the WHATWG event-stream rules: lines end in
CR, LF or CRLF; a `data` field per line of the payload; a blank line dispatches the event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event. `event` is "message" when the stream named none."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


def encode_event(data: str, event: str | None = None, id: int | str | None = None) -> bytes:
    """Frame `data` as one event; any line break inside it becomes another `data:` line.

    CR, LF and CRLF all split lines on the wire, so each is normalised to a `data:` line break and
    the decoder joins them back with LF: text with bare CR does not survive byte for byte, which is
    why the service ships text inside JSON (where CR is escaped) rather than raw.
    """
    parts: list[str] = []
    if event is not None:
        parts.append(f"event: {event}\n")
    if id is not None:
        parts.append(f"id: {id}\n")
    for line in _LINE_BREAK.split(data):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_json_event(payload: bytes, event: str, id: int) -> bytes:
    """Frame a JSON payload (one line by construction) as one event: the hot path's encoder,
    with nothing to split."""
    return b"event: %s\nid: %d\ndata: %s\n\n" % (event.encode(), id, payload)


def encode_comment(text: str = "") -> bytes:
    """A `:` comment line, ignored by clients; used as a heartbeat."""
    return f": {text}\n\n".encode() if text else b":\n\n"


@dataclass(slots=True)
class SSEDecoder:
    """Incremental decoder: feed it bytes as they arrive, get back the events they complete.

    Bytes may be split anywhere, including inside a UTF-8 character or between CR and LF.
    """

    _buffer: bytes = b""
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    _last_id: str | None = None
    _retry: int | None = None
    _pending_cr: bool = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume `chunk`; return the events completed by it, in order."""
        if self._pending_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._pending_cr = False
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF split across reads.
            self._pending_cr = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith("data: "):
            self._data.append(line[6:])
            return None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self._last_id = self._id
        if not self._data and not self._event:
            self._id = None
            self._retry = None
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._event = ""
        self._data = []
        self._id = None
        self._retry = None
        return event


def decode_all(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole sequence of byte chunks (a finished body, or a test's hand-made split)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
