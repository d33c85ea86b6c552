"""Undelimited text, as the tutorial's naive relay sends it: every read is one piece, and the
body's end is the stream's end. Only for measuring that relay; no LLM API speaks it."""

from __future__ import annotations

import codecs

from ghoststream.protocols.decoding import StreamDecoder


class RawDecoder(StreamDecoder):
    __slots__ = ("_utf8",)

    def __init__(self) -> None:
        super().__init__()
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, raw: bytes) -> list[str]:
        if self.done:
            return []
        text = self._utf8.decode(raw)
        return [text] if text else []

    def end(self) -> None:
        self.done = True
