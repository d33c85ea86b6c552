"""Any SSE stream that carries text in JSON, described rather than coded: which event names
carry tokens, where the text sits in their JSON, what ends the stream and what fails it.

    SSEFormat(token_event="delta", text_path="t", end_event="end")   # data: {"t": "..."}
    SSEFormat(token_event=None, text_path="choices.0.delta.content", end_data="[DONE]")

Register one under a name (`ghoststream.protocols.register_format`) and the timing client, the
probe and the Locust users read it like a built-in format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ghoststream.protocols.decoding import DecodeFailure, StreamDecoder
from ghoststream.protocols.sse import ServerSentEvent


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


@dataclass(frozen=True)
class SSEFormat:
    """A format's description; calling it makes a fresh decoder, as `FORMATS` entries do."""

    token_event: str | None = "message"
    """The event name that carries text (`message` for unnamed events); None: any name."""
    text_path: str = "text"
    """Dotted path to the text in the event's JSON (`choices.0.delta.content`); a missing or
    null value is an event without text; empty: the data itself is the text, not JSON."""
    end_event: str | None = None
    """The event name that ends the stream; its JSON, if any, becomes the terminal data."""
    end_data: str | None = None
    """Data that ends the stream whatever the event name (`[DONE]`)."""
    error_event: str | None = "error"
    """The event name that fails the stream; its JSON is the error's payload."""

    def __call__(self) -> StreamDecoder:
        return GenericSSEDecoder(self)


class GenericSSEDecoder(StreamDecoder):
    __slots__ = ("_format", "_path")

    def __init__(self, format: SSEFormat) -> None:
        super().__init__()
        self._format = format
        self._path = tuple(format.text_path.split(".")) if format.text_path else ()

    def _event(self, event: ServerSentEvent) -> None:
        spec = self._format
        name, data = event.event, event.data
        if spec.token_event is not None and name not in (
            spec.token_event,
            spec.end_event,
            spec.error_event,
        ):
            if spec.end_data is None or data != spec.end_data:
                return  # another kind of event (a ping): neither text nor an end
        if event.id is not None:
            self.event_ids.append(event.id)
        if name == spec.error_event:
            payload = _json_object(data)
            raise DecodeFailure("error", str(payload.get("code", payload)), payload)
        if name == spec.end_event or (spec.end_data is not None and data == spec.end_data):
            self.terminal_data = _json_object(data) if data and data != spec.end_data else None
            self.done = True
            return
        if not self._path:
            self._out.append(data)
            return
        try:
            text = _walk(orjson.loads(data), self._path)
        except (KeyError, IndexError):
            return  # an event of this name without text (a role or usage chunk)
        if text is None:
            return
        if type(text) is not str:
            raise TypeError("text")
        self._out.append(text)


def _json_object(data: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {"message": data}
    return value if isinstance(value, dict) else {"value": value}
