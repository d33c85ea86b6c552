"""Turn a request into a validated chat, or refuse it before anything streams.

Two front doors share the rules: `GET /ask-ai?prompt=&persona=` (EventSource-compatible) and
`POST /api/chat` with `{"messages", "persona", "max_tokens"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from ghoststream.protocols import dialect
from ghoststream.protocols.dialect import Message
from service.errors import input_error
from service.settings import Settings

CLIENT_ROLES = frozenset({"user", "assistant"})


@dataclass(frozen=True)
class ChatInput:
    messages: tuple[Message, ...]
    persona: str
    max_tokens: int | None

    def conversation(self, settings: Settings) -> tuple[Message, ...]:
        """The messages as the upstream gets them: the persona's system prompt first."""
        return (("system", settings.personas[self.persona].system_prompt), *self.messages)


def _persona(value: Any, settings: Settings) -> str:
    if value is None or value == "":
        return settings.default_persona
    if not isinstance(value, str) or value not in settings.personas:
        known = ", ".join(sorted(settings.personas))
        raise input_error("unknown_persona", f"Unknown persona; choose one of: {known}.")
    return value


def _max_tokens(value: Any, settings: Settings) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    low, high = dialect(settings.llm_api).min_max_tokens, settings.max_tokens_limit
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise input_error(
            "invalid_max_tokens", f"max_tokens must be an integer from {low} to {high}."
        )
    return value


def _messages(value: Any, settings: Settings) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise input_error("invalid_request", "messages must be a non-empty list.")
    if len(value) > settings.max_messages:
        raise input_error("invalid_request", f"At most {settings.max_messages} messages.")
    messages: list[Message] = []
    total = 0
    for message in value:
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            raise input_error("invalid_request", 'Each message is {"role", "content"}.')
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or role not in CLIENT_ROLES:
            raise input_error(
                "invalid_request", 'A message role is "user" or "assistant"; personas set the rest.'
            )
        if not isinstance(content, str):
            raise input_error("invalid_request", "A message's content is a string.")
        total += len(content)
        messages.append((role, content))
    if messages[-1][0] != "user":
        raise input_error("invalid_request", "The last message must be the user's.")
    if not messages[-1][1].strip():
        raise input_error("empty_prompt", "The prompt is empty.")
    if total > settings.max_prompt_chars:
        raise input_error(
            "prompt_too_long", f"The conversation is over {settings.max_prompt_chars} characters."
        )
    return tuple(messages)


def from_query(query_string: bytes, settings: Settings) -> ChatInput:
    try:
        query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise input_error("invalid_request", "The query string is not valid UTF-8.") from None
    raw = {key: values[-1] for key, values in query.items()}
    prompt = raw.get("prompt")
    if prompt is None or not prompt.strip():
        raise input_error("empty_prompt", "The prompt is empty.")
    return ChatInput(
        messages=_messages([{"role": "user", "content": prompt}], settings),
        persona=_persona(raw.get("persona"), settings),
        max_tokens=_max_tokens(raw.get("max_tokens"), settings),
    )


def from_body(body: bytes, settings: Settings) -> ChatInput:
    try:  # orjson refuses lone surrogates, infinities and nesting past 1,024 levels
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise input_error("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise input_error("invalid_request", "The body must be a JSON object.")
    unknown = set(data) - {"messages", "persona", "max_tokens"}
    if unknown:
        raise input_error("invalid_request", f"Unknown fields: {', '.join(sorted(unknown))}.")
    return ChatInput(
        messages=_messages(data.get("messages"), settings),
        persona=_persona(data.get("persona"), settings),
        max_tokens=_max_tokens(data.get("max_tokens"), settings),
    )
