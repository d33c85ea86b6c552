"""Server-Sent Events codec: pure functions and a byte-fed decoder, no I/O.

One implementation for the whole project: the service and the mock encode with it, and every
reader (the service's upstream client, the harness's timing clients) decodes with it. Follows
the WHATWG event-stream rules: lines end in CR, LF or CRLF; a `data` field per line of the
payload; a blank line dispatches the event.

The decoder is linear in the bytes fed and bounded: an event (its pending line plus the data
gathered so far) larger than `max_event_bytes` raises `EventTooLarge` instead of growing without
end, so a peer that never sends a newline costs a bounded buffer, not memory and quadratic CPU.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD_BREAK = re.compile(r"[\r\n]")
DEFAULT_MAX_EVENT_BYTES = 1 << 20
"""1 MiB: far above any LLM stream's event (a Responses `response.completed` carries the whole
answer, so it is the largest), far below what would hurt a server holding thousands of streams."""
LINE_COST = 64
"""What each `data` line costs on top of its bytes when an event is measured: the decoder keeps
one string per line, so a flood of empty `data:` lines is held to the cap like one long line."""


class EventTooLarge(ValueError):
    """An event grew past the decoder's `max_event_bytes` before it was dispatched."""


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
    why the service ships text inside JSON (where CR is escaped) rather than raw. A line break in
    `event` or `id` would start a field of the caller's choosing, so both are stripped of them.
    """
    parts: list[str] = []
    if event is not None:
        parts.append(f"event: {_FIELD_BREAK.sub('', event)}\n")
    if id is not None:
        parts.append(f"id: {_FIELD_BREAK.sub('', str(id))}\n")
    for line in _LINE_BREAK.split(data):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_json_event(payload: bytes, event: str, id: int) -> bytes:
    """Frame a JSON payload (one line by construction) as one event: the hot path's encoder,
    with nothing to split. `event` is one of the caller's own constant names."""
    return b"event: %s\nid: %d\ndata: %s\n\n" % (event.encode(), id, payload)


def encode_comment(text: str = "") -> bytes:
    """A `:` comment line, ignored by clients; used as a heartbeat."""
    return f": {_FIELD_BREAK.sub('', text)}\n\n".encode() if text else b":\n\n"


class SSEDecoder:
    """Incremental decoder: feed it bytes as they arrive, get back the events they complete.

    Bytes may be split anywhere, including inside a UTF-8 character or between CR and LF. Each
    byte is copied a bounded number of times: an unfinished line waits as a list of pieces and
    is joined once, when its line break arrives.
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_event",
        "_id",
        "_last_id",
        "_pending",
        "_pending_cr",
        "_pending_size",
        "_retry",
        "max_event_bytes",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume `chunk`; return the events completed by it, in order.

        Raises `EventTooLarge` when an event outgrows `max_event_bytes`; the decoder is then spent.
        """
        if self._pending_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._pending_cr = False
        if b"\r" in chunk:
            # A CR at the very end may be the first half of a CRLF split across reads.
            self._pending_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end < 0:
            if chunk:
                self._keep(chunk)
            return []
        head = chunk[:end]
        if self._pending:
            self._pending.append(head)
            head = b"".join(self._pending)
            self._pending = []
            self._pending_size = 0
        events: list[ServerSentEvent] = []
        for line in head.split(b"\n"):
            event = self._line(line)
            if event is not None:
                events.append(event)
        rest = chunk[end + 1 :]
        if rest:
            self._keep(rest)
        return events

    def _keep(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size + self._data_size > self.max_event_bytes:
            raise EventTooLarge(f"an event is over {self.max_event_bytes} bytes")

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if raw[:6] == b"data: ":
            self._add_data(raw[6:])
            return None
        if raw[:1] == b":":
            return None
        name, _, value = raw.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._add_data(value)
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", errors="replace")
        elif name == b"retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _add_data(self, value: bytes) -> None:
        self._data_size += len(value) + LINE_COST
        if self._data_size > self.max_event_bytes:
            raise EventTooLarge(f"an event is over {self.max_event_bytes} bytes")
        self._data.append(value.decode("utf-8", errors="replace"))

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
        self._data_size = 0
        self._id = None
        self._retry = None
        return event


def decode_all(
    chunks: Iterable[bytes], max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> Iterator[ServerSentEvent]:
    """Decode a whole sequence of byte chunks (a finished body, or a test's hand-made split)."""
    decoder = SSEDecoder(max_event_bytes)
    for chunk in chunks:
        yield from decoder.feed(chunk)
