"""The `[mock: key=value ...]` prompt directive: written, read and stripped here, nowhere else.

The directive lets a test drive the mock through a service that forwards only the prompt. It may
appear anywhere in the last user message; a later one wins; each is stripped, with one
whitespace character after it, from the text the mock echoes.

Reading is one forward scan: each `[mock:` is closed by the next `]`, and once no `]` follows,
no later opening can close either, so a prompt of a million `[mock:` costs one pass. A prompt
may hold at most `MAX_DIRECTIVES` directives of at most `MAX_DIRECTIVE_CHARS` characters each.
"""

from __future__ import annotations

from collections.abc import Iterator

from .controls import CONTROLS, ControlError

OPEN = "[mock:"
MAX_DIRECTIVES = 64
MAX_DIRECTIVE_CHARS = 1024


def directive(**controls: object) -> str:
    """The directive setting `controls`, e.g. directive(ttft_ms=50, tokens=20)."""
    unknown = set(controls) - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown mock controls: {', '.join(sorted(unknown))}")
    return "[mock: " + " ".join(f"{key}={value}" for key, value in controls.items()) + "]"


def _spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, body) of each directive; `end` is past its `]`."""
    position = 0
    found = 0
    while True:
        start = text.find(OPEN, position)
        if start < 0:
            return
        close = text.find("]", start + len(OPEN))
        if close < 0:
            return
        found += 1
        if found > MAX_DIRECTIVES:
            raise ControlError(f"a prompt may hold at most {MAX_DIRECTIVES} mock directives")
        if close - start > MAX_DIRECTIVE_CHARS:
            raise ControlError(f"a mock directive is over {MAX_DIRECTIVE_CHARS} characters")
        yield start, close + 1, text[start + len(OPEN) : close]
        position = close + 1


def parse(text: str) -> dict[str, str]:
    """The key=value pairs of every directive in `text` (later ones win; keys lower-cased)."""
    found: dict[str, str] = {}
    for _, _, body in _spans(text):
        for pair in body.split():
            key, sep, value = pair.partition("=")
            if not sep:
                raise ControlError(f"mock directive item {pair!r} is not key=value")
            found[key.strip().lower()] = value.strip()
    return found


def strip(text: str) -> str:
    """`text` without its directives, each taking one whitespace character after it along."""
    pieces = []
    position = 0
    for start, end, _ in _spans(text):
        pieces.append(text[position:start])
        position = end + 1 if text[end : end + 1].isspace() else end
    pieces.append(text[position:])
    return "".join(pieces)
