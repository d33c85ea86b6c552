"""The wire formats, pure (bytes in, events out, and back), shared by the mock, the service and
the harness. One module per format; each LLM API is a `Dialect`, registered here by name.

| name | module | spoken by |
|---|---|---|
| `chat` | `chat` | OpenAI Chat Completions, vLLM, most gateways |
| `responses` | `responses` | OpenAI Responses |
| `anthropic` | `anthropic` | Anthropic Messages |
| `completions` | `completions` | OpenAI's legacy Completions, `vllm bench serve`, guidellm |
| `ghoststream` | `browser` | ghoststream's own service (to browsers) |
| `raw` | `raw` | undelimited text (the tutorial's naive relay) |

Any other SSE stream is described with `generic.SSEFormat` and added by `register_format`.
"""

from __future__ import annotations

from collections.abc import Callable

from ghoststream.protocols import anthropic, chat, completions, responses
from ghoststream.protocols.browser import GhoststreamDecoder
from ghoststream.protocols.decoding import DecodeFailure, StreamDecoder
from ghoststream.protocols.dialect import Dialect
from ghoststream.protocols.generic import SSEFormat
from ghoststream.protocols.raw import RawDecoder

__all__ = [
    "DIALECTS",
    "FORMATS",
    "DecodeFailure",
    "Dialect",
    "SSEFormat",
    "StreamDecoder",
    "decoder_for",
    "dialect",
    "register_format",
]

DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (chat.DIALECT, responses.DIALECT, anthropic.DIALECT, completions.DIALECT)
}
"""The LLM APIs, by the name `LLM_API`, the mock's routes and the harness's `--api` use."""

FORMATS: dict[str, Callable[[], StreamDecoder]] = {
    **{name: d.decoder for name, d in DIALECTS.items()},
    "ghoststream": GhoststreamDecoder,
    "raw": RawDecoder,
}
"""Every stream format a client can read, by name: the dialects, ghoststream's own, and those
added with `register_format`."""
BUILT_IN = frozenset(FORMATS)


def register_format(name: str, factory: Callable[[], StreamDecoder]) -> None:
    """Make the stream format `name` readable everywhere a format is named (timing client,
    probe `--format`, Locust `--format`): `factory` makes a fresh decoder, e.g. an `SSEFormat`.
    Registering a name again replaces it; a built-in name cannot be replaced."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is a built-in stream format")
    FORMATS[name] = factory


def dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown API {name!r}; known: {', '.join(DIALECTS)}") from None


def decoder_for(name: str) -> StreamDecoder:
    """A fresh decoder for the stream format `name`."""
    try:
        make = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown stream format {name!r}; known: {', '.join(FORMATS)}") from None
    return make()
