"""What one stream's record means for a load test: pass or the failure's reason, and its raw line.

No Locust in here, so the rules are tested on their own. A stream fails on an HTTP error, an
`event: error` nobody asked for, a body that ends without a terminal event, or no end within its
time bound (a hang). An abort the scenario asked for is not a failure; neither is an injected
fault that surfaced as its documented error code.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

from ghoststream.harness.records import StreamRecord

FAULT_CODES: dict[str, str] = {
    "http_429": "rate_limited",
    "http_500": "upstream_unavailable",
    "http_503": "upstream_unavailable",
    "error_midstream": "upstream_error",
    "drop_midstream": "upstream_disconnected",
    "malformed_midstream": "upstream_malformed",
    "stall_midstream": "idle_timeout",
}
"""Each mock fault and the `event: error` code the service documents for it (service.errors)."""


@dataclass(frozen=True)
class Expectation:
    """What a scenario asked of one stream."""

    abort_after_tokens: int | None = None
    fault: str | None = None

    @property
    def error_code(self) -> str | None:
        return FAULT_CODES[self.fault] if self.fault is not None else None


def failure(record: StreamRecord, expect: Expectation = Expectation()) -> str | None:
    """Why the stream failed, as a short stable reason; None if it did what was asked."""
    if record.transport_error is not None:
        if record.transport_error.startswith("no end after"):
            return f"hang: {record.transport_error}"
        return f"transport: {record.transport_error}"
    if record.status is not None and record.status != 200:
        body = (record.terminal_data or {}).get("body", "")
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, TypeError, KeyError):
            code = "no error code"
        return f"HTTP {record.status} {code}"
    if record.aborted:
        asked = expect.abort_after_tokens
        return (
            None if asked is not None and record.tokens >= asked else "closed early by the client"
        )
    if record.terminal is None:
        return "ended without a terminal event"
    wanted = expect.error_code
    if wanted is None:
        return f"error event {record.error_code}" if record.terminal == "error" else None
    if record.terminal == "error" and record.error_code == wanted:
        return None
    got = record.error_code if record.terminal == "error" else record.terminal
    return f"fault {expect.fault} surfaced as {got}, not {wanted}"


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def median_gap_ms(record: StreamRecord) -> float | None:
    """The stream's own median inter-token gap: what the `ITL` entry gets, one per stream."""
    gaps = record.gaps
    return round(statistics.median(gaps) * 1000.0, 3) if gaps else None


def line(
    record: StreamRecord,
    *,
    scenario: str,
    user: str,
    source: int,
    started_wall: float,
    expect: Expectation = Expectation(),
    reason: str | None = None,
    stopped: bool = False,
    scheduled_delay_s: float = 0.0,
) -> dict[str, Any]:
    """One JSONL line: everything the summary and the step check need, in milliseconds.

    `stopped` marks a stream cut off by the test ending; it is neither a pass nor a failure,
    and its `duration_ms` is how long it had been open when cut.
    `scheduled_delay_ms` is how late the stream started against its schedule (open loop only),
    so `ttft_ms + scheduled_delay_ms` is the first token's latency from the scheduled start.
    """
    ttft = ms(record.ttft)
    return {
        "scenario": scenario,
        "user": user,
        "source": source,
        "started_wall": round(started_wall, 6),
        "status": record.status,
        "ttft_ms": ttft,
        "gaps_ms": [round(gap * 1000.0, 3) for gap in record.gaps],
        "tokens": record.tokens,
        "duration_ms": ms(record.duration),
        "terminal": record.terminal,
        "error_code": record.error_code,
        "fault": expect.fault,
        "aborted": record.aborted,
        "stopped": stopped,
        "transport_error": record.transport_error,
        "passed": reason is None and not stopped,
        "failure": reason,
        "scheduled_delay_ms": round(scheduled_delay_s * 1000.0, 3),
        "scheduled_ttft_ms": None if ttft is None else round(ttft + scheduled_delay_s * 1000.0, 3),
    }
