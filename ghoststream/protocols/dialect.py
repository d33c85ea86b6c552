"""What an LLM streaming API is, whichever one it is: the seam between a wire format and the rest.

A `Dialect` knows one API's bytes in both directions. Clients (the service's upstream reader,
the harness) build requests with `build_request` and read answers with `decoder()`. The mock
reads requests with `parse_request` into one dialect-neutral `GenerationRequest`, and writes
answers with a `StreamWriter` (streamed) or `whole` (not streamed), and errors with
`error_body`. Nothing here does I/O, keeps time or knows about faults: those are the mock's.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal

import orjson

from ghoststream.protocols.decoding import StreamDecoder

FinishReason = Literal["stop", "length", "tool_calls"]
Message = tuple[str, str]
"""(role, text): every dialect's conversation, flattened to what the mock reads."""


class InvalidRequest(Exception):
    """A request the real API would refuse; the mock answers `status` with the dialect's body."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


@dataclass(frozen=True)
class Tool:
    """A function the caller offers the model: its name and the JSON schema of its arguments."""

    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCall:
    """A call the model makes: ids as the dialect spells them, arguments as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class GenerationRequest:
    """What any dialect's request asks for, as far as an answer depends on it."""

    model: str
    stream: bool
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    include_usage: bool = True
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None
    """None or "auto": the model may call; "none": it may not; "required" or a tool's name."""
    echo: Mapping[str, Any] = field(default_factory=dict)
    """Request fields the dialect's answer repeats back (Responses echoes `instructions`, say);
    the mock never reads them, so they are not in the digest."""

    @cached_property
    def last_user_text(self) -> str:
        for role, text in reversed(self.messages):
            if role == "user":
                return text
        return ""

    @cached_property
    def prompt_chars(self) -> int:
        return sum(len(text) for _, text in self.messages)

    @property
    def prompt_tokens(self) -> int:
        """An estimate (4 characters a token), as good as the mock needs."""
        return max(1, (self.prompt_chars + 3) // 4)

    @cached_property
    def digest(self) -> str:
        """A stable hash of the conversation (roles and texts), for seeding the answer."""
        joined = "\n".join(f"{role}\0{text}" for role, text in self.messages)
        return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class StreamWriter:
    """The frames of one streamed answer, in order: `start`, then `text` / `tool_call` +
    `tool_arguments` pieces, then `finish` (everything through the end marker). A stream that
    fails ends with `error_event` or `malformed` instead of `finish`."""

    def start(self) -> bytes:
        raise NotImplementedError

    def text(self, piece: str) -> bytes:
        raise NotImplementedError

    def tool_call(self, call: ToolCall) -> bytes:
        raise NotImplementedError

    def tool_arguments(self, piece: str) -> bytes:
        raise NotImplementedError

    def finish(self, reason: FinishReason, prompt_tokens: int, completion_tokens: int) -> bytes:
        raise NotImplementedError

    def error_event(self, message: str) -> bytes:
        raise NotImplementedError

    def malformed(self) -> bytes:
        raise NotImplementedError


@dataclass(frozen=True)
class Answer:
    """A whole answer, for a request that did not stream."""

    id: str
    created: int
    text: str
    tool_calls: Sequence[ToolCall]
    reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


class Dialect:
    """One API's wire format. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    path: ClassVar[str]
    """The route, e.g. `/v1/chat/completions`, under the API's root."""
    id_prefix: ClassVar[str]
    min_max_tokens: ClassVar[int] = 1
    """The smallest output cap the API accepts."""
    max_tokens_required: ClassVar[bool] = False
    """Whether a request must name its output cap (Anthropic's must)."""

    # Clients
    def url(self, base_url: str) -> str:
        """The route under a base URL as this API's SDK takes it: OpenAI's ends in `/v1`."""
        return base_url.rstrip("/") + self.path.removeprefix("/v1")

    def base_url(self, root: str) -> str:
        """The base URL this API's SDK takes for a server at `root`."""
        return root.rstrip("/") + "/v1"

    def build_request(
        self, model: str, messages: Sequence[Message], max_tokens: int | None = None
    ) -> dict[str, Any]:
        """A streamed request for `messages` (`system` first, if any)."""
        raise NotImplementedError

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def extra_headers(self) -> dict[str, str]:
        """Headers every request of this API carries (a version pin, say)."""
        return {}

    def decoder(self) -> StreamDecoder:
        raise NotImplementedError

    # Servers (the mock)
    def new_id(self) -> str:
        """A fresh id for one answer, spelled as the API spells its own."""
        return random_id(self.id_prefix)

    def new_call_id(self) -> str:
        """A fresh id for one tool call, spelled as the API spells its own."""
        return random_id("call_", 24)

    def authorized(self, headers: Mapping[str, str], key: str) -> bool:
        return headers.get("authorization") == f"Bearer {key}"

    def parse_request(self, raw: bytes, headers: Mapping[str, str]) -> GenerationRequest:
        raise NotImplementedError

    def writer(self, id: str, created: int, request: GenerationRequest) -> StreamWriter:
        raise NotImplementedError

    def whole(self, request: GenerationRequest, answer: Answer) -> dict[str, Any]:
        raise NotImplementedError

    def error_body(
        self, status: int, message: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        """The body of an error answered with `status`; `message` None: the API's own wording."""
        raise NotImplementedError

    def response_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"x-request-id", request_id.encode("latin-1", "replace"))]


def random_id(prefix: str, length: int = 29) -> str:
    """`prefix` and `length` random letters and digits: how OpenAI's ids look."""
    return prefix + secrets.token_urlsafe(length).replace("-", "A").replace("_", "b")[:length]


def json_bytes(value: Any) -> bytes:
    """`value` as compact JSON. orjson costs a tenth of `json.dumps` on the hot path, but refuses
    a lone surrogate (a scenario file can hold one), which `json` writes as a `\\u` escape."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def json_body(raw: bytes, invalid: str) -> dict[str, Any]:
    """A request body as a JSON object, or InvalidRequest with the API's wording `invalid`.

    orjson refuses what Python's json would turn into trouble later: nesting past 1,024 levels
    (a RecursionError), infinities, and lone surrogates, which no encoder downstream can write.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(invalid) from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def optional_count(body: Mapping[str, Any], name: str, minimum: int = 1) -> int | None:
    """An optional integer field, at least `minimum`, with the wording OpenAI uses."""
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int:
        raise InvalidRequest(f"Invalid type for '{name}': expected an integer.", name)
    if value < minimum:
        raise InvalidRequest(f"Invalid '{name}': integer below minimum value {minimum}.", name)
    return value


def optional_bool(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if type(value) is not bool:
        raise InvalidRequest(f"Invalid type for '{name}': expected a boolean.", name)
    return value


def stream_options(body: Mapping[str, Any], stream: bool) -> Mapping[str, Any]:
    """OpenAI's `stream_options`: an object, and only with `stream`; `{}` when absent."""
    options = body.get("stream_options")
    if options is None:
        return {}
    if not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if type(options) is not dict:
        raise InvalidRequest("Invalid type for 'stream_options'.", "stream_options")
    return options


def one_choice(body: Mapping[str, Any]) -> None:
    """`n`, if given, must be 1: the mock answers one choice."""
    n = body.get("n")
    if n is not None and (type(n) is not int or n != 1):
        raise InvalidRequest("The mock answers one choice only: 'n' must be 1.", "n")


def required_str(body: Mapping[str, Any], name: str, message: str) -> str:
    value = body.get(name)
    if type(value) is not str or not value:
        raise InvalidRequest(message, name)
    return value
