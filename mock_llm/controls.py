"""Every per-request control the mock understands, declared once.

A control's name is its `[mock: name=value]` directive key and its scenario field; its header is
`X-Mock-` plus the name with dashes (`ttft_ms` -> `X-Mock-TTFT-Ms`); a server-wide control is also
a CLI flag (`--ttft-ms`) and a `MockConfig` field. Type, range and choices are checked here, for
every source alike, and the README's table is checked against this declaration by a test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .faults import FAULTS

Kind = Literal["number", "integer", "choice", "text"]
MODES = ("prose", "echo", "fixed")
HOUR_MS = 3_600_000.0


class ControlError(ValueError):
    """A control the mock cannot honour; answered with a 400 naming it."""


@dataclass(frozen=True)
class Control:
    name: str
    kind: Kind
    help: str
    high: float = math.inf
    """Numbers run from `low` to `high`."""
    choices: tuple[str, ...] = ()
    server_wide: bool = False
    """Also a CLI flag and a `MockConfig` field, the default for every request."""
    low: float = 0.0

    @property
    def header(self) -> str:
        return "x-mock-" + self.name.replace("_", "-")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: str) -> object:
        """The typed value of `raw`, or ControlError naming the control."""
        if self.kind in ("number", "integer"):
            try:
                number: float = int(raw) if self.kind == "integer" else float(raw)
            except ValueError:
                raise ControlError(
                    f"mock control {self.name} must be a number, got {raw!r}"
                ) from None
            if not self.low <= number <= self.high:  # also false for NaN
                raise ControlError(f"mock control {self.name}={raw} is out of range")
            return number
        if self.choices and raw not in self.choices:
            what = "fault" if self.name == "fault" else self.name
            raise ControlError(f"unknown {what} {raw!r}; known: {', '.join(self.choices)}")
        if len(raw) > 256:
            raise ControlError(f"mock control {self.name} is over 256 characters")
        return raw


CONTROLS: dict[str, Control] = {
    c.name: c
    for c in (
        Control("ttft_ms", "number", "time to first token", HOUR_MS, server_wide=True),
        Control("itl_ms", "number", "inter-token latency", HOUR_MS, server_wide=True),
        Control("tokens", "integer", "prose length, in tokens", 1_000_000, server_wide=True),
        Control("seed", "integer", "seed of the prose", 2**63, server_wide=True),
        Control(
            "jitter_ms",
            "number",
            "extra delay per token, 0 to this (seeded)",
            HOUR_MS,
            server_wide=True,
        ),
        Control(
            "prefill_ms_per_token",
            "number",
            "prefill time per prompt token, added to the TTFT",
            1000.0,
            server_wide=True,
        ),
        Control(
            "prefill_overhead_ms",
            "number",
            "fixed prefill time, added to the TTFT",
            HOUR_MS,
            server_wide=True,
        ),
        Control(
            "load_factor",
            "number",
            "the TTFT and ITL slowdown at a full batch (--max-num-seqs running)",
            100.0,
            server_wide=True,
            low=1.0,
        ),
        Control(
            "replay_speed",
            "number",
            "a recorded scenario's playback speed (2: twice as fast; 0: no waiting)",
            1000.0,
            server_wide=True,
        ),
        Control("mode", "choice", "where the text comes from", choices=MODES),
        Control("fault", "choice", "a fault to inject", choices=tuple(FAULTS)),
        Control("fault_after", "integer", "tokens sent before a midstream fault", 1_000_000),
        Control(
            "fault_times",
            "integer",
            "only the first N identical requests get the fault; later ones succeed",
            1_000_000,
        ),
        Control("fault_rate", "number", "the share of requests that get the fault (seeded)", 1.0),
        Control("retry_after_ms", "integer", "the wait an `http_429` asks for", HOUR_MS),
        Control("scenario", "text", "use this scenario by name, whatever the prompt"),
        Control("tool_call", "text", "call this tool (or `auto`: the first offered)"),
    )
}


def from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The controls set by `X-Mock-*` headers (names lower-case, as ASGI gives them)."""
    return {c.name: headers[c.header] for c in CONTROLS.values() if c.header in headers}


def typed(raw: Mapping[str, str]) -> dict[str, object]:
    """Check and convert raw control values; unknown keys and bad values raise ControlError."""
    out: dict[str, object] = {}
    for key, value in raw.items():
        control = CONTROLS.get(key)
        if control is None:
            raise ControlError(f"unknown mock control {key!r}; known: {', '.join(CONTROLS)}")
        out[key] = control.parse(value.strip())
    return out
