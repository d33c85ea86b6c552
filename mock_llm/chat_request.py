"""Validate a `POST /v1/chat/completions` body the way the real API does, and plan the answer.

Anything wrong is a `RequestError` carrying OpenAI's 400 error object; nothing here can 500.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mock_llm import controls, scenarios
from mock_llm.config import MockConfig, StreamPlan
from mock_llm.wire import invalid_request

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class RequestError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


def _invalid(message: str, param: str | None = None) -> RequestError:
    return RequestError(400, invalid_request(message, param))


@dataclass(frozen=True)
class ChatRequest:
    model: str
    stream: bool
    include_usage: bool
    max_tokens: int | None
    last_user_text: str
    prompt_chars: int
    digest: str

    @property
    def prompt_tokens(self) -> int:
        """An estimate (4 characters a token), as good as the mock needs."""
        return max(1, (self.prompt_chars + 3) // 4)


def _text_of(content: Any, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or "type" not in part:
                raise _invalid(
                    f"Invalid content part in messages[{index}].", f"messages[{index}].content"
                )
            if part["type"] == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "".join(texts)
    raise _invalid(f"Invalid type for 'messages[{index}].content'.", f"messages[{index}].content")


def _positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"Invalid type for '{name}': expected an integer.", name)
    if value < 1:
        raise _invalid(f"Invalid '{name}': integer below minimum value 1.", name)
    return value


def parse(raw: bytes) -> ChatRequest:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("you must provide a model parameter", "model")
    messages = body.get("messages")
    if messages is None:
        raise _invalid("Missing required parameter: 'messages'.", "messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("Invalid 'messages': expected a non-empty array.", "messages")
    texts: list[str] = []
    last_user = ""
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _invalid(f"Invalid type for 'messages[{index}]'.", f"messages[{index}]")
        role = message.get("role")
        if role not in ROLES:
            raise _invalid(
                f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role"
            )
        text = _text_of(message.get("content"), index)
        texts.append(f"{role}\0{text}")
        if role == "user":
            last_user = text
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise _invalid("Invalid type for 'stream': expected a boolean.", "stream")
    options = body.get("stream_options")
    if options is not None and not stream:
        raise _invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if options is not None and not isinstance(options, dict):
        raise _invalid("Invalid type for 'stream_options'.", "stream_options")
    n = body.get("n")
    if n not in (None, 1):
        raise _invalid("The mock answers one choice only: 'n' must be 1.", "n")
    limit = _positive_int(body, "max_completion_tokens")
    legacy = _positive_int(body, "max_tokens")
    joined = "\n".join(texts)
    return ChatRequest(
        model=model,
        stream=bool(stream),
        include_usage=bool(options and options.get("include_usage")),
        max_tokens=limit if limit is not None else legacy,
        last_user_text=last_user,
        prompt_chars=sum(len(t) for t in texts),
        digest=hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest(),
    )


def plan(
    config: MockConfig,
    request: ChatRequest,
    headers: Mapping[str, str],
    known: list[scenarios.Scenario],
) -> tuple[StreamPlan, scenarios.Scenario | None]:
    """Resolve the schedule and content: defaults < scenario < headers < prompt directive."""
    try:
        from_headers = controls.typed(controls.from_headers(headers))
        from_prompt = controls.typed(controls.parse_directive(request.last_user_text))
    except controls.ControlError as error:
        raise _invalid(str(error)) from None
    name = from_prompt.get("scenario", from_headers.get("scenario"))
    scenario = scenarios.find(known, request.last_user_text, None if name is None else str(name))
    if name is not None and scenario is None:
        raise _invalid(f"unknown mock scenario {name!r}")
    merged: dict[str, Any] = {
        "ttft_ms": config.ttft_ms,
        "itl_ms": config.itl_ms,
        "tokens": config.tokens,
        "seed": config.seed,
        "jitter_ms": config.jitter_ms,
    }
    for layer in (scenario.controls if scenario else {}, from_headers, from_prompt):
        merged.update(layer)
    merged.pop("scenario", None)
    if merged.get("mode") == "fixed" and (scenario is None or scenario.text is None):
        raise _invalid("mode=fixed needs a scenario with `text`")
    return (
        StreamPlan(
            scenario=scenario.name if scenario else None,
            fixed_text=scenario.text if scenario else None,
            **merged,
        ),
        scenario,
    )
