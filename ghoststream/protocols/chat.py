"""OpenAI Chat Completions (`POST /v1/chat/completions`), to the letter.

A stream is a role chunk, one chunk per piece (`delta.content`, or `delta.tool_calls`), a finish
chunk (`delta: {}` and `finish_reason`), with `stream_options.include_usage` a usage chunk whose
`choices` is `[]`, then `data: [DONE]`. An error mid-stream is a data event holding an `error`
object. Chunk bytes are built by concatenation around a per-stream prefix: the hot path encodes
only the piece of text, with orjson, never a whole dictionary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from ghoststream.protocols import openai_errors
from ghoststream.protocols.decoding import StreamDecoder
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
    one_choice,
    optional_bool,
    optional_count,
    required_str,
    stream_options,
)
from ghoststream.protocols.openai_chunks import ChunkStreamDecoder

FINGERPRINT = "fp_mock0000001"
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
DONE = b"data: [DONE]\n\n"


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class ChunkWriter(StreamWriter):
    """Builds the `data: ...\\n\\n` frames of one streamed completion."""

    __slots__ = ("_content_prefix", "_content_suffix", "_head", "_tail", "include_usage")

    def __init__(self, id: str, created: int, model: str, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._head = (
            f'data: {{"id":"{id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{json.dumps(model)},"service_tier":"default",'
            f'"system_fingerprint":"{FINGERPRINT}","choices":'
        )
        self._tail = ',"usage":null}\n\n' if include_usage else "}\n\n"
        self._content_prefix = (self._head + '[{"index":0,"delta":{"content":').encode()
        self._content_suffix = ('},"logprobs":null,"finish_reason":null}]' + self._tail).encode()

    def start(self) -> bytes:
        return self._choice('{"role":"assistant","content":"","refusal":null}', "null")

    def text(self, piece: str) -> bytes:
        return self._content_prefix + json_bytes(piece) + self._content_suffix

    def tool_call(self, call: ToolCall) -> bytes:
        delta = {
            "tool_calls": [
                {
                    "index": 0,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
            ]
        }
        return self._choice(orjson.dumps(delta).decode(), "null")

    def tool_arguments(self, piece: str) -> bytes:
        delta = '{"tool_calls":[{"index":0,"function":{"arguments":%s}}]}'
        return self._choice(delta % json_bytes(piece).decode(), "null")

    def finish(self, reason: FinishReason, prompt_tokens: int, completion_tokens: int) -> bytes:
        frames = self._choice("{}", f'"{reason}"')
        if self.include_usage:
            body = orjson.dumps(usage_object(prompt_tokens, completion_tokens)).decode()
            frames += (self._head + '[],"usage":' + body + "}\n\n").encode()
        return frames + DONE

    def error_event(self, message: str) -> bytes:
        body = openai_errors.error_body(message, "server_error")
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def malformed(self) -> bytes:
        """A chunk cut short inside its JSON, as a broken proxy would pass it on."""
        return self._head[: self._head.index("chat.completion.chunk") + 10].encode() + b"\n\n"

    def _choice(self, delta: str, finish_reason: str) -> bytes:
        return (
            f'{self._head}[{{"index":0,"delta":{delta},"logprobs":null,'
            f'"finish_reason":{finish_reason}}}]{self._tail}'
        ).encode()


class ChatDecoder(ChunkStreamDecoder):
    """The chunk stream in, content pieces out; tool-call argument pieces are counted."""

    __slots__ = ()

    def _choice(self, choice: Any) -> None:
        delta = choice["delta"]
        if type(delta) is not dict:
            raise TypeError("delta")
        text = delta.get("content")
        if text is not None:
            if type(text) is not str:
                raise TypeError("content")
            if text:
                self._out.append(text)
        calls = delta.get("tool_calls")
        if calls:
            for call in calls:
                arguments = call["function"].get("arguments")
                if arguments:
                    if type(arguments) is not str:
                        raise TypeError("arguments")
                    self.tool_deltas += 1


def _text_of(content: Any, index: int) -> str:
    if content is None:
        return ""
    if type(content) is str:
        return content
    if type(content) is list:
        texts = []
        for part in content:
            if type(part) is not dict or type(part.get("type")) is not str:
                raise InvalidRequest(
                    f"Invalid content part in messages[{index}].", f"messages[{index}].content"
                )
            if part["type"] == "text":
                text = part.get("text")
                if type(text) is not str:
                    raise InvalidRequest(
                        f"Invalid type for 'messages[{index}].content.text'.",
                        f"messages[{index}].content",
                    )
                texts.append(text)
        return "".join(texts)
    raise InvalidRequest(
        f"Invalid type for 'messages[{index}].content'.", f"messages[{index}].content"
    )


def parse_tools(body: Mapping[str, Any]) -> tuple[tuple[Tool, ...], str | None]:
    """`tools` and `tool_choice` in Chat Completions' and Responses' shapes (both are read)."""
    raw = body.get("tools")
    if raw is None:
        raw = []
    if type(raw) is not list:
        raise InvalidRequest("Invalid type for 'tools': expected an array.", "tools")
    tools = []
    for index, item in enumerate(raw):
        spec = item.get("function", item) if type(item) is dict else None
        name = spec.get("name") if type(spec) is dict else None
        if type(name) is not str or not name:
            raise InvalidRequest(f"Missing required parameter: 'tools[{index}].function.name'.")
        parameters = spec.get("parameters") or {}  # type: ignore[union-attr]
        if type(parameters) is not dict:
            raise InvalidRequest(f"Invalid type for 'tools[{index}].parameters'.")
        tools.append(Tool(name, parameters))
    choice = body.get("tool_choice")
    if choice is None or type(choice) is str:
        return tuple(tools), choice
    if type(choice) is dict:
        named = choice.get("function", choice)
        if type(named) is dict and type(named.get("name")) is str:
            return tuple(tools), str(named["name"])
    raise InvalidRequest("Invalid value for 'tool_choice'.", "tool_choice")


class ChatDialect(Dialect):
    name: ClassVar[str] = "chat"
    path: ClassVar[str] = "/v1/chat/completions"
    id_prefix: ClassVar[str] = "chatcmpl-"

    def build_request(
        self, model: str, messages: Sequence[Message], max_tokens: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": role, "content": text} for role, text in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            body["max_completion_tokens"] = max_tokens
        return body

    def decoder(self) -> StreamDecoder:
        return ChatDecoder()

    def parse_request(self, raw: bytes, headers: Mapping[str, str]) -> GenerationRequest:
        body = json_body(raw, openai_errors.UNPARSEABLE)
        model = required_str(body, "model", "you must provide a model parameter")
        messages = body.get("messages")
        if messages is None:
            raise InvalidRequest("Missing required parameter: 'messages'.", "messages")
        if type(messages) is not list or not messages:
            raise InvalidRequest("Invalid 'messages': expected a non-empty array.", "messages")
        flat: list[Message] = []
        for index, message in enumerate(messages):
            if type(message) is not dict:
                raise InvalidRequest(f"Invalid type for 'messages[{index}]'.", f"messages[{index}]")
            role = message.get("role")
            if type(role) is not str or role not in ROLES:
                raise InvalidRequest(
                    f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role"
                )
            flat.append((role, _text_of(message.get("content"), index)))
        stream = optional_bool(body, "stream")
        include_usage = optional_bool(stream_options(body, stream), "include_usage")
        one_choice(body)
        limit = optional_count(body, "max_completion_tokens")
        legacy = optional_count(body, "max_tokens")
        tools, tool_choice = parse_tools(body)
        return GenerationRequest(
            model=model,
            stream=stream,
            messages=tuple(flat),
            max_tokens=limit if limit is not None else legacy,
            include_usage=include_usage,
            tools=tools,
            tool_choice=tool_choice,
        )

    def writer(self, id: str, created: int, request: GenerationRequest) -> ChunkWriter:
        return ChunkWriter(id, created, request.model, request.include_usage)

    def whole(self, request: GenerationRequest, answer: Answer) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in answer.tool_calls
            ]
        return {
            "id": answer.id,
            "object": "chat.completion",
            "created": answer.created,
            "model": request.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.reason}
            ],
            "usage": usage_object(answer.prompt_tokens, answer.completion_tokens),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }

    def error_body(
        self, status: int, message: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        return openai_errors.for_status(status, message, param)

    def response_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return openai_errors.response_headers(request_id)


DIALECT = ChatDialect()
