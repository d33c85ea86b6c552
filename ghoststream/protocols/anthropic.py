"""Anthropic Messages (`POST /v1/messages`), to the letter.

A stream is named events: `message_start` (the message, empty, with the input's usage), then per
content block `content_block_start`, its `content_block_delta` pieces (`text_delta`, or a
tool_use block's `input_json_delta` whose first `partial_json` is empty) and
`content_block_stop`; one `ping` after the first block starts; then `message_delta` (the
`stop_reason` and cumulative usage) and `message_stop`. An error mid-stream is `event: error`.

Requests need `anthropic-version` (400 without, as the API answers) and a key in `x-api-key`
(a bearer token is accepted too); errors are `{"type": "error", "error": {"type", "message"}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from ghoststream.protocols.decoding import (
    StreamDecoder,
    count,
    finish_reason,
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
    Tool,
    ToolCall,
    json_body,
    json_bytes,
    random_id,
)
from ghoststream.protocols.sse import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent

VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""What a client that asks for no limit sends: the API has no default, `max_tokens` is required."""
STOP_REASONS: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
}
FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic's stop reasons in Chat Completions' words; any other is reported as it is."""
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
# status -> (type, stock message)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    type, stock = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
    return {"type": "error", "error": {"type": type, "message": message or stock}}


def _input_usage(prompt_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        **_input_usage(prompt_tokens),
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": completion_tokens,
        "service_tier": "standard",
    }


def message_object(
    id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _event(type: str, payload: Mapping[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (type.encode(), json_bytes({"type": type, **payload}))


class MessageEventWriter(StreamWriter):
    """Builds the events of one streamed message; blocks open lazily, so an answer that is only
    a tool call has no empty text block before it."""

    __slots__ = ("_index", "_open", "_start")

    TEXT_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'

    def __init__(self, id: str, request: GenerationRequest) -> None:
        usage = usage_object(request.prompt_tokens, 1)
        self._start = _event(
            "message_start", {"message": message_object(id, request.model, [], None, usage)}
        )
        self._index = -1
        self._open: str | None = None
        """The type of the open content block, if one is open."""

    def start(self) -> bytes:
        return self._start

    def text(self, piece: str) -> bytes:
        frames = b"" if self._open == "text" else self._block({"type": "text", "text": ""})
        return b'%s%s%d,"delta":{"type":"text_delta","text":%s}}\n\n' % (
            frames,
            self.TEXT_HEAD,
            self._index,
            json_bytes(piece),
        )

    def tool_call(self, call: ToolCall) -> bytes:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        return self._block(block) + self.tool_arguments("")

    def tool_arguments(self, piece: str) -> bytes:
        delta = {"type": "input_json_delta", "partial_json": piece}
        return _event("content_block_delta", {"index": self._index, "delta": delta})

    def finish(self, reason: FinishReason, prompt_tokens: int, completion_tokens: int) -> bytes:
        frames = self._block({"type": "text", "text": ""}) if self._index < 0 else b""
        frames += self._close()
        delta = {"stop_reason": STOP_REASONS[reason], "stop_sequence": None}
        usage = {**_input_usage(prompt_tokens), "output_tokens": completion_tokens}
        frames += _event("message_delta", {"delta": delta, "usage": usage})
        return frames + _event("message_stop", {})

    def error_event(self, message: str) -> bytes:
        return _event("error", {"error": {"type": "api_error", "message": message}})

    def malformed(self) -> bytes:
        """An event cut short inside its JSON, as a broken proxy would pass it on."""
        return self.TEXT_HEAD + b"\n\n"

    def _block(self, block: dict[str, Any]) -> bytes:
        frames = self._close()
        self._index += 1
        self._open = block["type"]
        frames += _event("content_block_start", {"index": self._index, "content_block": block})
        return frames + PING if self._index == 0 else frames

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return _event("content_block_stop", {"index": self._index})


class AnthropicDecoder(StreamDecoder):
    """The event stream in, text deltas out; `message_stop` ends it."""

    __slots__ = ("_input_tokens",)

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        super().__init__(max_event_bytes)
        self._input_tokens = 0

    def _event(self, event: ServerSentEvent) -> None:
        data = orjson.loads(event.data)
        if type(data) is not dict:
            raise TypeError("event")
        kind = data["type"]
        if kind == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                text = delta["text"]
                if type(text) is not str:
                    raise TypeError("text")
                if text:
                    self._out.append(text)
            elif delta["type"] == "input_json_delta":
                if type(delta["partial_json"]) is not str:
                    raise TypeError("partial_json")
                if delta["partial_json"]:
                    self.tool_deltas += 1
        elif kind == "message_start":
            self._input_tokens = count(data["message"]["usage"]["input_tokens"])
        elif kind == "message_delta":
            reason = data["delta"].get("stop_reason")
            if reason is not None:
                reason = finish_reason(reason)
                self.finish_reason = FINISH_REASONS.get(reason, reason)
            found = data["usage"]
            prompt = found.get("input_tokens")
            self.usage = usage(
                self._input_tokens if prompt is None else prompt, found["output_tokens"]
            )
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise reported_error(data.get("error"))
        elif type(kind) is not str:
            raise TypeError("type")


def _invalid(path: str, message: str) -> InvalidRequest:
    """The API's wording: the field's dotted path, then what is wrong with it."""
    return InvalidRequest(f"{path}: {message}", path)


def _text_of(content: Any, path: str) -> str:
    """The text of a message's content: a string, or the text (and tool result) blocks."""
    if type(content) is str:
        return content
    if type(content) is not list:
        raise _invalid(path, "Input should be a valid string or a valid list")
    texts = []
    for index, block in enumerate(content):
        where = f"{path}.{index}"
        if type(block) is not dict or type(block.get("type")) is not str:
            raise _invalid(where, "Input should be a valid content block")
        if block["type"] == "text":
            text = block.get("text")
            if type(text) is not str:
                raise _invalid(f"{where}.text", "Input should be a valid string")
            texts.append(text)
        elif block["type"] == "tool_result" and block.get("content") is not None:
            texts.append(_text_of(block["content"], f"{where}.content"))
    return "".join(texts)


def _max_tokens(body: Mapping[str, Any]) -> int:
    value = body.get("max_tokens")
    if value is None:
        raise _invalid("max_tokens", "Field required")
    if type(value) is not int:
        raise _invalid("max_tokens", "Input should be a valid integer")
    if value < 1:
        raise _invalid("max_tokens", "Input should be greater than or equal to 1")
    return value


def _tools(body: Mapping[str, Any]) -> tuple[tuple[Tool, ...], str | None]:
    raw = body.get("tools")
    if raw is None:
        raw = []
    if type(raw) is not list:
        raise _invalid("tools", "Input should be a valid list")
    tools = []
    for index, item in enumerate(raw):
        name = item.get("name") if type(item) is dict else None
        if type(name) is not str or not name:
            raise _invalid(f"tools.{index}.name", "Field required")
        schema = item.get("input_schema") or {}
        if type(schema) is not dict:
            raise _invalid(f"tools.{index}.input_schema", "Input should be a valid dictionary")
        tools.append(Tool(name, schema))
    choice = body.get("tool_choice")
    if choice is None:
        return tuple(tools), None
    kind = choice.get("type") if type(choice) is dict else None
    if type(kind) is str and kind in TOOL_CHOICES:
        return tuple(tools), TOOL_CHOICES[kind]
    if kind == "tool" and type(choice.get("name")) is str:
        return tuple(tools), str(choice["name"])
    raise _invalid("tool_choice", "Input tag does not match any of the expected tags")


class AnthropicDialect(Dialect):
    name: ClassVar[str] = "anthropic"
    path: ClassVar[str] = "/v1/messages"
    max_tokens_required: ClassVar[bool] = True
    id_prefix: ClassVar[str] = "msg_01"

    def new_id(self) -> str:
        return random_id(self.id_prefix, 22)

    def new_call_id(self) -> str:
        return random_id("toolu_01", 22)

    def url(self, base_url: str) -> str:
        """Anthropic's base URL is the API's root, without `/v1`."""
        return base_url.rstrip("/") + self.path

    def base_url(self, root: str) -> str:
        return root.rstrip("/")

    def build_request(
        self, model: str, messages: Sequence[Message], max_tokens: int | None = None
    ) -> dict[str, Any]:
        system = "\n\n".join(text for role, text in messages if role in ("system", "developer"))
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
            "messages": [
                {"role": role, "content": text}
                for role, text in messages
                if role not in ("system", "developer")
            ],
            "stream": True,
        }
        if system:
            body["system"] = system
        return body

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def extra_headers(self) -> dict[str, str]:
        return {"anthropic-version": VERSION}

    def decoder(self) -> StreamDecoder:
        return AnthropicDecoder()

    def authorized(self, headers: Mapping[str, str], key: str) -> bool:
        return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"

    def parse_request(self, raw: bytes, headers: Mapping[str, str]) -> GenerationRequest:
        if not headers.get("anthropic-version"):
            raise InvalidRequest("anthropic-version: header is required")
        body = json_body(raw, "There was an error parsing the body of your request.")
        model = body.get("model")
        if model is None:
            raise _invalid("model", "Field required")
        if type(model) is not str or not model:
            raise _invalid("model", "Input should be a valid string")
        flat: list[Message] = []
        system = body.get("system")
        if system is not None:
            flat.append(("system", _text_of(system, "system")))
        messages = body.get("messages")
        if messages is None:
            raise _invalid("messages", "Field required")
        if type(messages) is not list:
            raise _invalid("messages", "Input should be a valid list")
        if not messages:
            raise _invalid("messages", "at least one message is required")
        for index, message in enumerate(messages):
            where = f"messages.{index}"
            if type(message) is not dict:
                raise _invalid(where, "Input should be a valid dictionary")
            role = message.get("role")
            if type(role) is not str or role not in ("user", "assistant"):
                raise _invalid(f"{where}.role", "Input should be 'user' or 'assistant'")
            content = message.get("content")
            if content is None:
                raise _invalid(f"{where}.content", "Field required")
            flat.append((role, _text_of(content, f"{where}.content")))
        stream = body.get("stream", False)
        if type(stream) is not bool:
            raise _invalid("stream", "Input should be a valid boolean")
        tools, tool_choice = _tools(body)
        return GenerationRequest(
            model=model,
            stream=stream,
            messages=tuple(flat),
            max_tokens=_max_tokens(body),
            tools=tools,
            tool_choice=tool_choice,
        )

    def writer(self, id: str, created: int, request: GenerationRequest) -> MessageEventWriter:
        return MessageEventWriter(id, request)

    def whole(self, request: GenerationRequest, answer: Answer) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if answer.text or not answer.tool_calls:
            content.append({"type": "text", "text": answer.text})
        for call in answer.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": orjson.loads(call.arguments),
                }
            )
        return message_object(
            answer.id,
            request.model,
            content,
            STOP_REASONS[answer.reason],
            usage_object(answer.prompt_tokens, answer.completion_tokens),
        )

    def error_body(
        self, status: int, message: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        return error_body(status, message)

    def response_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"request-id", request_id.encode("latin-1", "replace"))]


DIALECT = AnthropicDialect()
