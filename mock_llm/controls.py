"""Per-request controls: `X-Mock-*` headers and the `[mock: key=value ...]` prompt directive.

The directive lets a test drive the mock through a service that forwards only the prompt; it is
stripped from the text the mock echoes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mock_llm.config import FAULTS, MODES

DIRECTIVE = re.compile(r"\[mock:([^\]]*)\]\s?")

# Directive key -> header name; both feed the same overrides.
KEYS: dict[str, str] = {
    "ttft_ms": "x-mock-ttft-ms",
    "itl_ms": "x-mock-itl-ms",
    "tokens": "x-mock-tokens",
    "seed": "x-mock-seed",
    "jitter_ms": "x-mock-jitter-ms",
    "mode": "x-mock-mode",
    "fault": "x-mock-fault",
    "fault_after": "x-mock-fault-after",
    "retry_after_ms": "x-mock-retry-after-ms",
    "scenario": "x-mock-scenario",
}
_NUMBERS = {"ttft_ms", "itl_ms", "jitter_ms"}
_INTEGERS = {"tokens", "seed", "fault_after", "retry_after_ms"}
_LIMITS = {
    "tokens": 1_000_000,
    "ttft_ms": 3_600_000.0,
    "itl_ms": 3_600_000.0,
    "jitter_ms": 3_600_000.0,
}


class ControlError(ValueError):
    """A control the mock cannot honour; answered with a 400 naming it."""


def strip_directives(text: str) -> str:
    return DIRECTIVE.sub("", text)


def parse_directive(text: str) -> dict[str, str]:
    """The key=value pairs of every directive in `text` (later ones win)."""
    found: dict[str, str] = {}
    for match in DIRECTIVE.finditer(text):
        for pair in match.group(1).split():
            key, sep, value = pair.partition("=")
            if not sep:
                raise ControlError(f"mock directive item {pair!r} is not key=value")
            found[key.strip().lower()] = value.strip()
    return found


def from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {key: headers[name] for key, name in KEYS.items() if name in headers}


def typed(raw: Mapping[str, str]) -> dict[str, object]:
    """Check and convert raw control values; unknown keys and bad values raise ControlError."""
    out: dict[str, object] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ControlError(f"unknown mock control {key!r}; known: {', '.join(KEYS)}")
        if key in _NUMBERS or key in _INTEGERS:
            try:
                number: float = int(value) if key in _INTEGERS else float(value)
            except ValueError:
                raise ControlError(f"mock control {key} must be a number, got {value!r}") from None
            if number < 0 or number > _LIMITS.get(key, float("inf")) or number != number:
                raise ControlError(f"mock control {key}={value} is out of range")
            out[key] = number
        elif key == "fault":
            if value not in FAULTS:
                raise ControlError(f"unknown fault {value!r}; known: {', '.join(FAULTS)}")
            out[key] = value
        elif key == "mode":
            if value not in MODES:
                raise ControlError(f"unknown mode {value!r}; known: {', '.join(MODES)}")
            out[key] = value
        else:
            out[key] = value
    return out
