"""OpenAI's legacy Completions (`POST /v1/completions`), as `vllm bench serve` and guidellm use it.

A stream is one `text_completion` chunk per piece (`choices[0].text`), a finish chunk (empty
text and `finish_reason`), with `stream_options.include_usage` a usage chunk whose `choices` is
`[]`, then `data: [DONE]`; there is no opening chunk. An error mid-stream is a data event holding
an `error` object, as in Chat Completions. `max_tokens` defaults to 16, as the API's does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from ghoststream.protocols import openai_errors
from ghoststream.protocols.chat import DONE, FINGERPRINT
from ghoststream.protocols.decoding import StreamDecoder
from ghoststream.protocols.dialect import (
    Answer,
    Dialect,
    FinishReason,
    GenerationRequest,
    InvalidRequest,
    Message,
    StreamWriter,
    json_body,
    json_bytes,
    one_choice,
    optional_bool,
    optional_count,
    required_str,
    stream_options,
)
from ghoststream.protocols.openai_chunks import ChunkStreamDecoder

DEFAULT_MAX_TOKENS = 16


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class CompletionWriter(StreamWriter):
    """Builds the `data: ...\\n\\n` frames of one streamed completion."""

    __slots__ = ("_head", "_model", "_tail", "_text_prefix", "_text_suffix", "include_usage")

    def __init__(self, id: str, created: int, model: str, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._head = (
            f'data: {{"id":"{id}","object":"text_completion","created":{created},"choices":'
        )
        self._model = f',"model":{json.dumps(model)},"system_fingerprint":"{FINGERPRINT}"'
        self._tail = self._model + (',"usage":null}\n\n' if include_usage else "}\n\n")
        self._text_prefix = (self._head + '[{"text":').encode()
        choice_end = ',"index":0,"logprobs":null,"finish_reason":null}]'
        self._text_suffix = (choice_end + self._tail).encode()

    def start(self) -> bytes:
        return b""

    def text(self, piece: str) -> bytes:
        return self._text_prefix + json_bytes(piece) + self._text_suffix

    def finish(self, reason: FinishReason, prompt_tokens: int, completion_tokens: int) -> bytes:
        frames = (
            f'{self._head}[{{"text":"","index":0,"logprobs":null,"finish_reason":"{reason}"}}]'
            f"{self._tail}"
        ).encode()
        if self.include_usage:
            body = orjson.dumps(usage_object(prompt_tokens, completion_tokens)).decode()
            frames += f'{self._head}[]{self._model},"usage":{body}}}\n\n'.encode()
        return frames + DONE

    def error_event(self, message: str) -> bytes:
        return b"data: " + orjson.dumps(openai_errors.error_body(message, "server_error")) + b"\n\n"

    def malformed(self) -> bytes:
        """A chunk cut short inside its JSON, as a broken proxy would pass it on."""
        return self._head[: self._head.index("text_completion") + 4].encode() + b"\n\n"


class CompletionsDecoder(ChunkStreamDecoder):
    """The chunk stream in, `choices[0].text` pieces out."""

    __slots__ = ()

    def _choice(self, choice: Any) -> None:
        text = choice["text"]
        if type(text) is not str:
            raise TypeError("text")
        if text:
            self._out.append(text)


def _prompt(body: Mapping[str, Any]) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise InvalidRequest("Missing required parameter: 'prompt'.", "prompt")
    if type(prompt) is list and len(prompt) == 1:
        prompt = prompt[0]
    elif type(prompt) is list and prompt and all(type(p) is str for p in prompt):
        raise InvalidRequest("The mock answers one prompt at a time: send a list of one.", "prompt")
    if type(prompt) is not str:
        raise InvalidRequest(
            "Invalid type for 'prompt': the mock reads a string or a list of one string "
            "(not token ids).",
            "prompt",
        )
    return prompt


class CompletionsDialect(Dialect):
    name: ClassVar[str] = "completions"
    path: ClassVar[str] = "/v1/completions"
    id_prefix: ClassVar[str] = "cmpl-"

    def build_request(
        self, model: str, messages: Sequence[Message], max_tokens: int | None = None
    ) -> dict[str, Any]:
        """A conversation flattened to one prompt: the texts, a blank line apart."""
        body: dict[str, Any] = {
            "model": model,
            "prompt": "\n\n".join(text for _, text in messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body

    def decoder(self) -> StreamDecoder:
        return CompletionsDecoder()

    def parse_request(self, raw: bytes, headers: Mapping[str, str]) -> GenerationRequest:
        body = json_body(raw, openai_errors.UNPARSEABLE)
        model = required_str(body, "model", "you must provide a model parameter")
        prompt = _prompt(body)
        stream = optional_bool(body, "stream")
        options = stream_options(body, stream)
        one_choice(body)
        limit = optional_count(body, "max_tokens")
        return GenerationRequest(
            model=model,
            stream=stream,
            messages=(("user", prompt),),
            max_tokens=DEFAULT_MAX_TOKENS if limit is None else limit,
            include_usage=optional_bool(options, "include_usage"),
        )

    def writer(self, id: str, created: int, request: GenerationRequest) -> CompletionWriter:
        return CompletionWriter(id, created, request.model, request.include_usage)

    def whole(self, request: GenerationRequest, answer: Answer) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "text_completion",
            "created": answer.created,
            "model": request.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [
                {"text": answer.text, "index": 0, "logprobs": None, "finish_reason": answer.reason}
            ],
            "usage": usage_object(answer.prompt_tokens, answer.completion_tokens),
        }

    def error_body(
        self, status: int, message: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        return openai_errors.for_status(status, message, param)

    def response_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return openai_errors.response_headers(request_id)


DIALECT = CompletionsDialect()
