"""A recorded response, as a scenario file holds it, and the scrubbing that makes it shareable.

    scenarios:
      - name: recorded
        match: Say hello           # the prompt it was recorded with
        recording:
          api: chat                # served back on this dialect's route only
          status: 200
          content_type: text/event-stream; charset=utf-8
          headers: {openai-processing-ms: '212'}
          headers_ms: 1.9          # when the response headers arrived
          complete: true           # false: the connection was cut mid-body
          chunks:                  # one per read off the socket, offset from the request
            - {at_ms: 81.2, text: "data: {...}\\n\\n"}
            - {at_ms: 96.0, base64: ...}   # a read that is not whole UTF-8

No I/O here: `mock_llm.recorder` fills a `Recording` from a socket, `mock_llm.replay` plays one.
Scrubbing happens on the whole body, so an id split across two reads is still found; every
distinct id becomes one stable placeholder (`chatcmpl-recorded0`), the same wherever it recurs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ghoststream.protocols import DIALECTS, decoder_for

ID_PATTERN = re.compile(
    rb"\b(chatcmpl-|cmpl-|resp_|msg_|rs_|fc_|ws_|ctc_|call_|toolu_|srvtoolu_|req_)"
    rb"[A-Za-z0-9]{6,}"
)
"""Response, item, tool-call and request ids as OpenAI and Anthropic spell them."""
PLACEHOLDER_TAG = "recorded"

KEPT_HEADERS = ("cache-control", "openai-processing-ms", "openai-version", "anthropic-version")
KEPT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "openai-request-id", "anthropic-request-id")
"""Kept, with the id replaced. Every other response header is dropped: `set-cookie`,
`openai-organization`, `openai-project`, `anthropic-organization-id`, `cf-ray`, `server` and
whatever a provider adds tomorrow; an allowlist cannot leak what it has not heard of."""


@dataclass(frozen=True)
class Chunk:
    at_ms: float
    """When the read arrived, in ms after the request was sent."""
    data: bytes


@dataclass(frozen=True)
class Recording:
    api: str
    status: int
    content_type: str
    chunks: tuple[Chunk, ...]
    headers: dict[str, str] = field(default_factory=dict)
    headers_ms: float = 0.0
    complete: bool = True

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    @cached_property
    def counts(self) -> list[int]:
        """`token_counts`, worked out once per scenario file rather than per replay."""
        return token_counts(self)

    @cached_property
    def answer_id(self) -> str | None:
        """The first id in the body: the answer's own, which the ledger records."""
        found = ID_PATTERN.search(self.body)
        return None if found is None else found.group(0).decode()


def scrub(recording: Recording) -> Recording:
    """The recording with ids in the body and headers replaced by placeholders and every
    header outside the allowlist dropped; chunk boundaries and times are kept."""
    names: dict[bytes, bytes] = {}

    def placeholder(match: re.Match[bytes]) -> bytes:
        found = match.group(0)
        if found not in names:
            prefix = match.group(1)
            count = sum(1 for name in names.values() if name.startswith(prefix))
            names[found] = prefix + f"{PLACEHOLDER_TAG}{count}".encode()
        return names[found]

    chunks = _rescrubbed(recording.chunks, placeholder)
    headers = {}
    for name, value in recording.headers.items():
        if name in REQUEST_ID_HEADERS:  # the same placeholder as the id in an error body
            found = value.encode("latin-1", "replace")
            scrubbed = ID_PATTERN.sub(placeholder, found)
            headers[name] = scrubbed.decode() if scrubbed != found else f"req_{PLACEHOLDER_TAG}"
        elif name in KEPT_HEADERS or name.startswith(KEPT_PREFIXES):
            headers[name] = value
    return replace(recording, chunks=chunks, headers=headers)


def _rescrubbed(chunks: tuple[Chunk, ...], placeholder: Any) -> tuple[Chunk, ...]:
    """Scrub the joined body, then cut it again where the reads ended; a cut inside an id
    moves to the end of its placeholder, so the placeholder goes out with the id's first part."""
    body = b"".join(chunk.data for chunk in chunks)
    pieces: list[bytes] = []
    shifts: list[tuple[int, int, int]] = []  # (start, end, new end) of each replaced id
    last, written = 0, 0
    for match in ID_PATTERN.finditer(body):
        new = placeholder(match)
        pieces.append(body[last : match.start()])
        written += match.start() - last
        pieces.append(new)
        written += len(new)
        shifts.append((match.start(), match.end(), written))
        last = match.end()
    pieces.append(body[last:])
    scrubbed = b"".join(pieces)

    def moved(offset: int) -> int:
        shift = 0
        for start, end, new_end in shifts:
            if offset <= start:
                break
            if offset < end:
                return new_end
            shift = new_end - end
        return offset + shift

    out, old_end, new_start = [], 0, 0
    for chunk in chunks:
        old_end += len(chunk.data)
        new_end = moved(old_end)
        out.append(Chunk(chunk.at_ms, scrubbed[new_start:new_end]))
        new_start = new_end
    return tuple(out)


def token_counts(recording: Recording) -> list[int]:
    """Tokens (text pieces and tool-argument pieces, as the dialect's decoder counts them)
    received by the end of each chunk: what the ledger's `tokens_sent` counts for a replay."""
    if recording.status != 200:
        return [0] * len(recording.chunks)
    decoder = decoder_for(recording.api)
    counts, total = [], 0
    for chunk in recording.chunks:
        if not decoder.ended:
            total += len(decoder.feed(chunk.data))
        counts.append(total + decoder.tool_deltas)
    return counts


def to_document(recording: Recording) -> dict[str, Any]:
    """The `recording` mapping of a scenario, as YAML or JSON will hold it."""
    return {
        "api": recording.api,
        "status": recording.status,
        "content_type": recording.content_type,
        "headers": dict(recording.headers),
        "headers_ms": round(recording.headers_ms, 3),
        "complete": recording.complete,
        "chunks": [_chunk_document(chunk) for chunk in recording.chunks],
    }


def _chunk_document(chunk: Chunk) -> dict[str, Any]:
    try:
        return {"at_ms": round(chunk.at_ms, 3), "text": chunk.data.decode("utf-8")}
    except UnicodeDecodeError:  # a read that ended inside a character
        return {"at_ms": round(chunk.at_ms, 3), "base64": base64.b64encode(chunk.data).decode()}


def from_document(document: Any) -> Recording:
    """A `Recording` from a scenario's `recording` mapping; ValueError says what is wrong."""
    if not isinstance(document, Mapping):
        raise ValueError("`recording` must be a mapping")
    api = document.get("api")
    if api not in DIALECTS:
        raise ValueError(f"recording api must be one of {', '.join(DIALECTS)}, got {api!r}")
    chunks = document.get("chunks")
    if not isinstance(chunks, list):
        raise ValueError("recording needs a `chunks` list")
    headers = document.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ValueError("recording `headers` must be a mapping")
    try:
        return Recording(
            api=str(api),
            status=int(document.get("status", 200)),
            content_type=str(document.get("content_type", "text/event-stream")),
            chunks=tuple(_chunk(item) for item in chunks),
            headers={str(k).lower(): str(v) for k, v in headers.items()},
            headers_ms=float(document.get("headers_ms", 0.0)),
            complete=bool(document.get("complete", True)),
        )
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"bad recording: {error}") from None


def _chunk(item: Any) -> Chunk:
    if not isinstance(item, Mapping):
        raise ValueError("each chunk is a mapping with `at_ms` and `text` or `base64`")
    if "base64" in item:
        data = base64.b64decode(str(item["base64"]), validate=True)
    else:
        data = str(item["text"]).encode("utf-8")
    return Chunk(float(item["at_ms"]), data)


def ids_in(chunks: Iterable[Chunk]) -> set[bytes]:
    """Every id in the joined body: what scrubbing replaces."""
    return {m.group(0) for m in ID_PATTERN.finditer(b"".join(c.data for c in chunks))}
