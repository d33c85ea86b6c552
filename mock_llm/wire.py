"""OpenAI's wire format, to the letter: stream chunks, completions, usage and error bodies.

Chunk bytes are built by string concatenation around a per-stream prefix: the hot path encodes
only the piece of text, with `json.dumps`, never a whole dictionary.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import orjson

FINGERPRINT = "fp_mock0000001"


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_urlsafe(22).replace("-", "A").replace("_", "b")[:29]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
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


class ChunkWriter:
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

    def role(self) -> bytes:
        delta = '{"role":"assistant","content":"","refusal":null}'
        return self._choice(delta, "null")

    def content(self, text: str) -> bytes:
        try:
            piece = orjson.dumps(text)  # a tenth of json.dumps' cost, on the hot path
        except TypeError:  # a lone surrogate, which orjson refuses: JSON's \\u escape instead
            piece = json.dumps(text).encode()
        return self._content_prefix + piece + self._content_suffix

    def finish(self, reason: str) -> bytes:
        return self._choice("{}", f'"{reason}"')

    def usage(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        body = json.dumps(usage(prompt_tokens, completion_tokens), separators=(",", ":"))
        return (self._head + '[],"usage":' + body + "}\n\n").encode()

    def _choice(self, delta: str, finish_reason: str) -> bytes:
        return (
            f'{self._head}[{{"index":0,"delta":{delta},"logprobs":null,'
            f'"finish_reason":{finish_reason}}}]{self._tail}'
        ).encode()


DONE = b"data: [DONE]\n\n"


def error_body(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid_request(message: str, param: str | None = None) -> dict[str, Any]:
    return error_body(message, "invalid_request_error", None, param)


def error_event(message: str) -> bytes:
    """An in-stream error as OpenAI sends it: a data event whose JSON has an `error` key."""
    body = error_body(message, "server_error")
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def completion(
    id: str,
    created: int,
    model: str,
    text: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """A whole `chat.completion` object, for `stream: false`."""
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage(prompt_tokens, completion_tokens),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


# Bodies of the HTTP faults, as the real API words them.
HTTP_FAULT_BODIES: dict[str, tuple[int, dict[str, Any]]] = {
    "http_429": (
        429,
        error_body(
            "Rate limit reached for requests. Please try again later.",
            "requests",
            "rate_limit_exceeded",
        ),
    ),
    "http_500": (
        500,
        error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        ),
    ),
    "http_503": (
        503,
        error_body("The engine is currently overloaded, please try again later.", "server_error"),
    ),
}
