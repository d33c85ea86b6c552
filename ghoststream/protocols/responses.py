"""OpenAI Responses (`POST /v1/responses`), to the letter.

A stream is named events (an `event:` line, and `data:` whose `type` repeats it), numbered by
`sequence_number` from 0: `response.created`, `response.in_progress`, then for each output item
`response.output_item.added`, a message's `response.content_part.added`, its
`response.output_text.delta` pieces, `response.output_text.done` and `response.content_part.done`
(or a function call's `response.function_call_arguments.delta` pieces and `.done`), then
`response.output_item.done`; last `response.completed`, or `response.incomplete` when
`max_output_tokens` cut the answer, holding the whole response and its usage. No `[DONE]`.

An error mid-stream is an `error` event with its fields under `error`, as the live API sends it
(its reference puts them at the top level) and as the SDKs raise on, then `response.failed`.
Deltas carry the `obfuscation` padding the live API adds unless `stream_options` turns it off.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from ghoststream.protocols import openai_errors
from ghoststream.protocols.chat import parse_tools
from ghoststream.protocols.decoding import (
    StreamDecoder,
    reported_error,
    usage,
)
from ghoststream.protocols.dialect import (
    Answer,
    Dialect,
    FinishReason,
    GenerationRequest,
    InvalidRequest,
    Message,
    StreamWriter,
    ToolCall,
    json_body,
    json_bytes,
    optional_bool,
    optional_count,
    random_id,
    required_str,
    stream_options,
)
from ghoststream.protocols.sse import ServerSentEvent

MIN_OUTPUT_TOKENS = 16
"""The API refuses a smaller `max_output_tokens`."""
ROLES = frozenset({"user", "assistant", "system", "developer"})
TEXT_PARTS = frozenset({"input_text", "output_text"})
ECHOED: dict[str, tuple[type, ...]] = {
    "metadata": (dict,),
    "parallel_tool_calls": (bool,),
    "previous_response_id": (str,),
    "store": (bool,),
    "temperature": (int, float),
    "top_p": (int, float),
    "user": (str,),
}
"""Request fields the response repeats as they were sent, with the JSON types they may have."""


def item_id(prefix: str, response_id: str) -> str:
    """An output item's id: the live API's ids share the response id's last 16 characters."""
    return prefix + secrets.token_hex(16) + response_id[-16:]


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt_tokens + completion_tokens,
    }


def response_object(
    id: str, created: int, request: GenerationRequest, status: str = "in_progress"
) -> dict[str, Any]:
    """The `response` as `response.created` shows it: no output yet, the request echoed."""
    echo = request.echo
    return {
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": echo.get("instructions"),
        "max_output_tokens": request.max_tokens,
        "max_tool_calls": None,
        "model": request.model,
        "output": [],
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": echo.get("previous_response_id"),
        "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "auto",
        "store": echo.get("store", True),
        "temperature": echo.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_logprobs": 0,
        "top_p": echo.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata", {}),
    }


def finished(
    response: dict[str, Any],
    reason: FinishReason,
    output: list[dict[str, Any]],
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """`response` as it ends: `completed`, or `incomplete` when the token limit cut it."""
    cut = reason == "length"
    return {
        **response,
        "status": "incomplete" if cut else "completed",
        "completed_at": None if cut else int(time.time()),
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "output": output,
        "service_tier": "default",
        "usage": usage_object(prompt_tokens, completion_tokens),
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message(id: str, status: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [_text_part(text)]
    return {"id": id, "type": "message", "status": status, "content": content, "role": "assistant"}


def _function_call(id: str, status: str, call: ToolCall, arguments: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.id,
        "name": call.name,
    }


class EventWriter(StreamWriter):
    """Builds the named events of one streamed response, numbering them as it goes."""

    __slots__ = (
        "_arguments",
        "_call",
        "_delta_head",
        "_delta_tail",
        "_item",
        "_output",
        "_pad",
        "_response",
        "_sequence",
        "_texts",
    )

    def __init__(self, id: str, created: int, request: GenerationRequest) -> None:
        self._response = response_object(id, created, request)
        self._sequence = 0
        self._output: list[dict[str, Any]] = []
        self._item: str | None = None
        """The open output item's id, if one is open."""
        self._call: ToolCall | None = None
        self._texts: list[str] = []
        self._arguments: list[str] = []
        self._pad = random_id("", 16) if request.echo.get("include_obfuscation", True) else ""
        self._delta_head = b""
        self._delta_tail = b""

    def start(self) -> bytes:
        return self._event("response.created", response=self._response) + self._event(
            "response.in_progress", response=self._response
        )

    def text(self, piece: str) -> bytes:
        frames = b"" if self._item is not None and self._call is None else self._open_message()
        self._texts.append(piece)
        self._sequence += 1
        return b"%s%s%d%s%s%s" % (
            frames,
            self._delta_head,
            self._sequence - 1,
            self._delta_tail,
            json_bytes(piece),
            self._padding(len(piece)),
        )

    def tool_call(self, call: ToolCall) -> bytes:
        frames = self._close("completed")
        id = self._item = item_id("fc_", self._response["id"])
        self._call = call
        item = _function_call(id, "in_progress", call, "")
        return frames + self._event(
            "response.output_item.added", output_index=len(self._output), item=item
        )

    def tool_arguments(self, piece: str) -> bytes:
        self._arguments.append(piece)
        return self._event(
            "response.function_call_arguments.delta",
            item_id=self._item,
            output_index=len(self._output),
            delta=piece,
            **self._obfuscation(len(piece)),
        )

    def finish(self, reason: FinishReason, prompt_tokens: int, completion_tokens: int) -> bytes:
        status = "incomplete" if reason == "length" else "completed"
        frames = b""
        if self._item is None and not self._output:
            frames += self._open_message()  # an empty answer is still one (empty) message
        frames += self._close(status)
        response = finished(self._response, reason, self._output, prompt_tokens, completion_tokens)
        terminal = "response.incomplete" if reason == "length" else "response.completed"
        return frames + self._event(terminal, response=response)

    def error_event(self, message: str) -> bytes:
        error = {"type": "server_error", "code": "server_error", "message": message, "param": None}
        failed = {
            **self._response,
            "status": "failed",
            "error": {"code": "server_error", "message": message},
            "output": self._output,
        }
        return self._event("error", error=error) + self._event("response.failed", response=failed)

    def malformed(self) -> bytes:
        """An event cut short inside its JSON, as a broken proxy would pass it on."""
        return self._delta_head[: self._delta_head.index(b'"sequence_number"')] + b"\n\n"

    def _event(self, type: str, **fields: Any) -> bytes:
        data = json_bytes({"type": type, "sequence_number": self._sequence, **fields})
        self._sequence += 1
        return b"event: %s\ndata: %s\n\n" % (type.encode(), data)

    def _open_message(self) -> bytes:
        frames = self._close("completed")
        id = self._item = item_id("msg_", self._response["id"])
        index = len(self._output)
        frames += self._event(
            "response.output_item.added", output_index=index, item=_message(id, "in_progress", None)
        )
        frames += self._event(
            "response.content_part.added",
            item_id=id,
            output_index=index,
            content_index=0,
            part=_text_part(""),
        )
        self._delta_head = (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            b'"sequence_number":'
        )
        self._delta_tail = b',"item_id":"%s","output_index":%d,"content_index":0,"delta":' % (
            id.encode(),
            index,
        )
        return frames

    def _close(self, status: str) -> bytes:
        """The events that finish the open item, if any."""
        id, index = self._item, len(self._output)
        if id is None:
            return b""
        self._item = None
        if self._call is not None:
            call, self._call = self._call, None
            arguments = "".join(self._arguments)
            item = _function_call(id, status, call, arguments)
            frames = self._event(
                "response.function_call_arguments.done",
                item_id=id,
                output_index=index,
                arguments=arguments,
            )
        else:
            text = "".join(self._texts)
            item = _message(id, status, text)
            frames = self._event(
                "response.output_text.done",
                item_id=id,
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            frames += self._event(
                "response.content_part.done",
                item_id=id,
                output_index=index,
                content_index=0,
                part=_text_part(text),
            )
        self._output.append(item)
        return frames + self._event("response.output_item.done", output_index=index, item=item)

    def _padding(self, size: int) -> bytes:
        """The end of a text delta event: its logprobs and obfuscation."""
        if not self._pad:
            return b',"logprobs":[]}\n\n'
        return b',"logprobs":[],"obfuscation":"%s"}\n\n' % self._pad[: 16 - size % 16].encode()

    def _obfuscation(self, size: int) -> dict[str, str]:
        return {"obfuscation": self._pad[: 16 - size % 16]} if self._pad else {}


class ResponsesDecoder(StreamDecoder):
    """The event stream in, text deltas out; `response.completed` or `.incomplete` ends it."""

    __slots__ = ()

    def _event(self, event: ServerSentEvent) -> None:
        data = orjson.loads(event.data)
        if type(data) is not dict:
            raise TypeError("event")
        kind = data["type"]
        if kind == "response.output_text.delta":
            delta = data["delta"]
            if type(delta) is not str:
                raise TypeError("delta")
            if delta:
                self._out.append(delta)
        elif kind == "response.function_call_arguments.delta":
            if type(data["delta"]) is not str:
                raise TypeError("delta")
            if data["delta"]:
                self.tool_deltas += 1
        elif kind in ("response.completed", "response.incomplete"):
            self._end(data["response"])
        elif kind == "response.failed":
            response = data["response"]
            error = response.get("error") if type(response) is dict else None
            raise reported_error(error, "response failed")
        elif kind == "error":
            raise reported_error(data.get("error", data))
        elif type(kind) is not str:
            raise TypeError("type")

    def _end(self, response: Any) -> None:
        if type(response) is not dict:
            raise TypeError("response")
        found = response.get("usage")
        if found is not None:
            self.usage = usage(found["input_tokens"], found["output_tokens"])
        output = response["output"]
        if type(output) is not list:
            raise TypeError("output")
        if response.get("status") == "incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason")
            self.finish_reason = "length" if reason == "max_output_tokens" else "content_filter"
        elif any(type(item) is dict and item.get("type") == "function_call" for item in output):
            self.finish_reason = "tool_calls"
        else:
            self.finish_reason = "stop"
        self.done = True


def _input(value: Any) -> list[Message]:
    if value is None:
        raise InvalidRequest("Missing required parameter: 'input'.", "input")
    if type(value) is str:
        return [("user", value)]
    if type(value) is not list:
        raise InvalidRequest(
            "Invalid type for 'input': expected one of a string or array of input items.", "input"
        )
    messages: list[Message] = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if type(item) is not dict:
            raise InvalidRequest(f"Invalid type for '{where}': expected an object.", where)
        kind = item.get("type", "message")
        if type(kind) is not str:
            raise InvalidRequest(f"Invalid type for '{where}.type': expected a string.", where)
        if kind == "message":
            role = item.get("role")
            if type(role) is not str or role not in ROLES:
                raise InvalidRequest(f"Invalid value for '{where}.role'.", f"{where}.role")
            messages.append((role, _content_text(item.get("content"), where)))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(("tool", output if type(output) is str else ""))
        # other items (function calls, reasoning, references) carry no text the mock reads
    return messages


def _content_text(content: Any, where: str) -> str:
    if type(content) is str:
        return content
    if type(content) is not list:
        raise InvalidRequest(
            f"Invalid type for '{where}.content': expected a string or an array.",
            f"{where}.content",
        )
    texts = []
    for part in content:
        if type(part) is not dict or type(part.get("type")) is not str:
            raise InvalidRequest(f"Invalid content part in '{where}.content'.", f"{where}.content")
        if part["type"] in TEXT_PARTS:
            text = part.get("text")
            if type(text) is not str:
                raise InvalidRequest(
                    f"Invalid type for '{where}.content.text': expected a string.",
                    f"{where}.content",
                )
            texts.append(text)
    return "".join(texts)


def _echo(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the response repeats of the request, each checked for its JSON type."""
    echo: dict[str, Any] = {}
    for name, types in ECHOED.items():
        value = body.get(name)
        if value is None:
            continue
        if type(value) not in types:
            raise InvalidRequest(f"Invalid type for '{name}'.", name)
        echo[name] = value
    return echo


class ResponsesDialect(Dialect):
    name: ClassVar[str] = "responses"
    path: ClassVar[str] = "/v1/responses"
    min_max_tokens: ClassVar[int] = MIN_OUTPUT_TOKENS
    id_prefix: ClassVar[str] = "resp_"

    def new_id(self) -> str:
        return "resp_" + secrets.token_hex(24)

    def build_request(
        self, model: str, messages: Sequence[Message], max_tokens: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "input": [{"role": role, "content": text} for role, text in messages],
            "stream": True,
        }
        if max_tokens is not None:
            body["max_output_tokens"] = max_tokens
        return body

    def decoder(self) -> StreamDecoder:
        return ResponsesDecoder()

    def parse_request(self, raw: bytes, headers: Mapping[str, str]) -> GenerationRequest:
        body = json_body(raw, openai_errors.UNPARSEABLE)
        model = required_str(body, "model", "Missing required parameter: 'model'.")
        echo = _echo(body)
        messages: list[Message] = []
        instructions = body.get("instructions")
        if instructions is not None:
            if type(instructions) is not str:
                raise InvalidRequest("Invalid type for 'instructions'.", "instructions")
            echo["instructions"] = instructions
            messages.append(("developer", instructions))
        messages.extend(_input(body.get("input")))
        stream = optional_bool(body, "stream")
        options = stream_options(body, stream)
        if "include_obfuscation" in options:
            echo["include_obfuscation"] = optional_bool(options, "include_obfuscation")
        tools, tool_choice = parse_tools(body)
        echo["tools"] = [
            {
                "type": "function",
                "description": spec.get("description"),
                "name": tool.name,
                "parameters": dict(tool.parameters),
                "strict": spec.get("strict", True),
            }
            for tool, item in zip(tools, body.get("tools") or [], strict=True)
            for spec in [item.get("function", item)]
        ]
        if body.get("tool_choice") is not None:
            echo["tool_choice"] = body["tool_choice"]
        return GenerationRequest(
            model=model,
            stream=stream,
            messages=tuple(messages),
            max_tokens=optional_count(body, "max_output_tokens", MIN_OUTPUT_TOKENS),
            tools=tools,
            tool_choice=tool_choice,
            echo=echo,
        )

    def writer(self, id: str, created: int, request: GenerationRequest) -> EventWriter:
        return EventWriter(id, created, request)

    def whole(self, request: GenerationRequest, answer: Answer) -> dict[str, Any]:
        status = "incomplete" if answer.reason == "length" else "completed"
        output: list[dict[str, Any]] = []
        if answer.text or not answer.tool_calls:
            output.append(_message(item_id("msg_", answer.id), status, answer.text))
        for call in answer.tool_calls:
            output.append(_function_call(item_id("fc_", answer.id), status, call, call.arguments))
        return finished(
            response_object(answer.id, answer.created, request),
            answer.reason,
            output,
            answer.prompt_tokens,
            answer.completion_tokens,
        )

    def error_body(
        self, status: int, message: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        return openai_errors.for_status(status, message, param)

    def response_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return openai_errors.response_headers(request_id)


DIALECT = ResponsesDialect()
