"""Reading OpenAI's chunk streams (chat and legacy completions): `data: {...}` chunks whose
`choices[0]` carries the text, an `{"error": ...}` chunk on failure, a usage chunk, `[DONE]`.
What differs between the two APIs is only where a choice keeps its text: `_choice` says."""

from __future__ import annotations

from typing import Any

import orjson

from ghoststream.protocols.decoding import StreamDecoder, finish_reason, reported_error, usage
from ghoststream.protocols.sse import ServerSentEvent


class ChunkStreamDecoder(StreamDecoder):
    __slots__ = ()

    def _event(self, event: ServerSentEvent) -> None:
        data = event.data
        if data == "[DONE]":
            self.done = True
            return
        chunk = orjson.loads(data)
        if type(chunk) is not dict:
            raise TypeError("chunk")
        if "error" in chunk:
            raise reported_error(chunk["error"])
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            self._choice(choice)
            reason = choice.get("finish_reason")
            if reason is not None:
                self.finish_reason = finish_reason(reason)
        elif choices is not None and type(choices) is not list:
            raise TypeError("choices")
        found = chunk.get("usage")
        if found is not None:
            self.usage = usage(found["prompt_tokens"], found["completion_tokens"])

    def _choice(self, choice: Any) -> None:
        """Take the text (and tool-call pieces) out of `choices[0]`; TypeError if misshapen."""
        raise NotImplementedError
