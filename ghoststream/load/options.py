"""The Locust-side options of every `StreamUser` locustfile, declared once.

Plain data, no Locust: `hooks.py` adds them to Locust's parser, and `python -m loadtests --help`
(which runs Locust as a child and must not import it) lists them with their defaults.
"""

from __future__ import annotations

from typing import Any

from ghoststream.load.saturation import Limits
from ghoststream.protocols import DIALECTS

FAULTS = (
    "http_429,http_500,http_503,error_midstream,drop_midstream,malformed_midstream,stall_midstream"
)

OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--ttft-ms", {"type": float, "default": 200.0, "help": "mock TTFT asked for"}),
    ("--itl-ms", {"type": float, "default": 20.0, "help": "mock inter-token gap"}),
    ("--tokens", {"type": int, "default": 50, "help": "tokens per answer"}),
    ("--hold-itl-ms", {"type": float, "default": 1000.0, "help": "HoldOpenUser's gap"}),
    ("--hold-tokens", {"type": int, "default": 30, "help": "HoldOpenUser's answer length"}),
    ("--abort-after", {"type": int, "default": 5, "help": "CancelStormUser: abort after K"}),
    ("--fault-rate", {"type": float, "default": 0.5, "help": "FaultMixUser: share faulted"}),
    ("--faults", {"default": FAULTS, "help": "FaultMixUser: comma-separated mock faults"}),
    (
        "--stream-timeout-s",
        {
            "type": float,
            "default": 0.0,
            "help": "bound on any one stream, past which it is a hang "
            "(0: twice its schedule + 35 s)",
        },
    ),
    (
        "--start-spread-s",
        {"type": float, "default": 1.0, "help": "users start at random in this window"},
    ),
    ("--arrival-rate", {"type": float, "default": 5.0, "help": "OpenLoopUser: streams/s per user"}),
    ("--records", {"default": "", "help": "write one JSON line per stream here"}),
    (
        "--format",
        {"default": "ghoststream", "help": "a path route's stream format (if not its class's)"},
    ),
    ("--mock-url", {"default": "", "help": "the mock's base URL (evidence, DirectUser)"}),
    (
        "--api",
        {
            "default": "chat",
            "choices": sorted(DIALECTS),
            "help": "DirectUser's dialect: the mock's route it streams from",
        },
    ),
    (
        "--api-key",
        {"default": "", "is_secret": True, "help": "the service's key (SERVICE_API_KEYS), if on"},
    ),
    ("--live-every", {"type": float, "default": 5.0, "help": "seconds between live lines"}),
    (
        "--max-generator-cpu",
        {
            "type": float,
            "default": Limits.max_cpu_percent,
            "help": "a Locust process above this CPU (%% of a core, p90) makes the figures invalid",
        },
    ),
    (
        "--max-coalesced",
        {
            "type": float,
            "default": Limits.max_coalesced,
            "help": "a share of 0 ms inter-token gaps above this makes the figures invalid",
        },
    ),
    ("--step-users", {"type": int, "default": 50, "help": "step shape: users per step"}),
    ("--step-start", {"type": int, "default": 0, "help": "step shape: first step's users"}),
    ("--step-seconds", {"type": float, "default": 15.0, "help": "step shape: step length"}),
    ("--settle-seconds", {"type": float, "default": 5.0, "help": "unjudged step start"}),
    ("--max-users", {"type": int, "default": 5000, "help": "step shape: stop after"}),
    (
        "--slo-ttft-ms",
        {"type": float, "default": 0.0, "help": "step shape: TTFT p99 SLO (0: 2x ttft)"},
    ),
)


def listing() -> list[str]:
    """One line per option with its default, for a help text that cannot ask Locust."""
    lines = []
    for flag, spec in OPTIONS:
        text = spec["help"].replace("%%", "%")
        lines.append(f"  {flag:<22}{text} (default: {spec['default']!r})")
    return lines
