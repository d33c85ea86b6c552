"""ghoststream's own browser protocol: `token` events, then exactly one `done` or `error`.

    event: token            event: done                      event: error
    id: 1                   id: 42                           id: 7
    data: {"text": "Hi"}    data: {"finish_reason", ...}     data: {"code", "message", ...}

Every event has an increasing `id`; `:` comments are heartbeats. The service encodes with the
functions here; the harness reads any ghoststream service with `GhoststreamDecoder`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ghoststream.protocols.decoding import DecodeFailure, StreamDecoder
from ghoststream.protocols.sse import ServerSentEvent, encode_comment, encode_json_event

__all__ = ["GhoststreamDecoder", "heartbeat", "terminal", "token"]


def token(text: str, id: int) -> bytes:
    """One `token` event: the hot path, so the JSON is built around the encoded text."""
    return b'event: token\nid: %d\ndata: {"text":%s}\n\n' % (id, orjson.dumps(text))


def terminal(event: str, payload: dict[str, Any], id: int) -> bytes:
    """The `done` or `error` event that ends a stream."""
    return encode_json_event(orjson.dumps(payload), event, id)


def heartbeat() -> bytes:
    return encode_comment()


class GhoststreamDecoder(StreamDecoder):
    """A ghoststream service's stream: `done` ends it, `error` fails it with its payload."""

    __slots__ = ()

    def _event(self, event: ServerSentEvent) -> None:
        if event.id is not None:
            self.event_ids.append(event.id)
        name = event.event
        if name == "token":
            text = orjson.loads(event.data)["text"]
            if type(text) is not str:
                raise TypeError("text")
            self._out.append(text)
        elif name == "done":
            data = orjson.loads(event.data)
            if type(data) is not dict:
                raise TypeError("done")
            self.terminal_data = data
            usage = data.get("usage")
            self.usage = usage if type(usage) is dict else None
            reason = data.get("finish_reason")
            self.finish_reason = reason if type(reason) is str else None
            self.done = True
        elif name == "error":
            data = orjson.loads(event.data)
            if type(data) is not dict:
                raise TypeError("error")
            self.terminal_data = data
            raise DecodeFailure("error", str(data.get("code")), data)
