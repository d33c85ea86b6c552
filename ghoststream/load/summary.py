"""The end-of-run summary, computed from the raw per-stream lines rather than Locust's buckets.

Locust stores each response time rounded to two significant digits (1,042 ms becomes 1,000), so
its percentiles are bucket edges. These come from the exact samples, with
`ghoststream.harness.stats`: TTFT one sample per stream, ITL one per inter-token gap pooled over
streams (as the benchmarks define them), `stream` the whole duration. Streams cut off by the
test ending are left out of those figures and counted on their own (`cut`): a run shorter than
one stream ends none, and says so rather than "0 streams".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghoststream.harness.stats import Distribution

Line = Mapping[str, Any]


@dataclass(frozen=True)
class ScenarioSummary:
    scenario: str
    streams: int
    passed: int
    failed: int
    aborted: int
    stopped: int
    ttft: Distribution
    itl: Distribution
    stream: Distribution
    scheduled_ttft: Distribution | None
    """Open loop only: first token measured from the scheduled start, not the actual send."""
    tokens: int
    tokens_per_s: float
    failures: dict[str, int] = field(default_factory=dict)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    """Injected fault -> the terminal each one surfaced as (error code, or `done`)."""

    def as_dict(self) -> dict[str, Any]:
        def dist(d: Distribution | None) -> dict[str, float] | None:
            return None if d is None else {k: _finite(v) for k, v in vars(d).items()}

        return {
            "scenario": self.scenario,
            "streams": self.streams,
            "passed": self.passed,
            "failed": self.failed,
            "aborted": self.aborted,
            "stopped": self.stopped,
            "ttft_ms": dist(self.ttft),
            "itl_ms": dist(self.itl),
            "stream_ms": dist(self.stream),
            "scheduled_ttft_ms": dist(self.scheduled_ttft),
            "tokens": self.tokens,
            "tokens_per_s": _finite(self.tokens_per_s),
            "failures": self.failures,
            "faults": self.faults,
        }


def _finite(value: float) -> float:
    return value if math.isfinite(value) else float("nan")


def _ms(samples: Iterable[float]) -> Distribution:
    return Distribution.of_seconds([sample / 1000.0 for sample in samples])


def summarize_scenario(scenario: str, lines: Sequence[Line]) -> ScenarioSummary:
    counted = [line for line in lines if not line["stopped"]]
    passed = [line for line in counted if line["passed"]]
    faults: dict[str, Counter[str]] = {}
    for line in counted:
        if line["fault"] is not None:
            surfaced = line["error_code"] or line["terminal"] or line["failure"] or "nothing"
            faults.setdefault(line["fault"], Counter())[surfaced] += 1
    delays = [line["scheduled_delay_ms"] for line in counted]
    open_loop = any(delay > 0 for delay in delays)
    starts = [line["started_wall"] for line in counted]
    ends = [line["started_wall"] + (line["duration_ms"] or 0.0) / 1000.0 for line in counted]
    span = max(ends, default=0.0) - min(starts, default=0.0)
    tokens = sum(line["tokens"] for line in passed)
    return ScenarioSummary(
        scenario=scenario,
        streams=len(counted),
        passed=len(passed),
        failed=len(counted) - len(passed),
        aborted=sum(1 for line in counted if line["aborted"]),
        stopped=len(lines) - len(counted),
        ttft=_ms(line["ttft_ms"] for line in passed if line["ttft_ms"] is not None),
        itl=_ms(gap for line in passed for gap in line["gaps_ms"]),
        stream=_ms(line["duration_ms"] for line in passed if line["duration_ms"] is not None),
        scheduled_ttft=(
            _ms(
                line["scheduled_ttft_ms"]
                for line in passed
                if line["scheduled_ttft_ms"] is not None
            )
            if open_loop
            else None
        ),
        tokens=tokens,
        tokens_per_s=tokens / span if span > 0 else math.nan,
        failures=dict(Counter(line["failure"] for line in counted if line["failure"])),
        faults={fault: dict(codes) for fault, codes in sorted(faults.items())},
    )


def summarize(lines: Iterable[Line]) -> dict[str, ScenarioSummary]:
    by_scenario: dict[str, list[Line]] = {}
    for line in lines:
        by_scenario.setdefault(line["scenario"], []).append(line)
    return {name: summarize_scenario(name, group) for name, group in sorted(by_scenario.items())}


def _num(ms: float) -> str:
    return f"{ms:.0f}" if ms >= 1000 else f"{ms:.1f}"


def _three(d: Distribution) -> str:
    if d.count == 0:
        return "-"
    return f"{_num(d.p50)} / {_num(d.p90)} / {_num(d.p99)}"


def peak_open(lines: Iterable[Line]) -> int:
    """The most streams open at once, from each line's start and its end or cut: exact where
    the live figure is a sample every few seconds (and, in distributed mode, lags the workers'
    reports by up to three)."""
    edges: list[tuple[float, int]] = []
    for line in lines:
        if line["duration_ms"] is None:
            continue
        start = line["started_wall"]
        edges += [(start, 1), (start + line["duration_ms"] / 1000.0, -1)]
    peak = open_now = 0
    for _, step in sorted(edges):  # at a tie the end (-1) sorts first: back to back is not two
        open_now += step
        peak = max(peak, open_now)
    return peak


def render(summaries: Mapping[str, ScenarioSummary]) -> list[str]:
    """The summary table, one row per scenario, then cut streams, failure reasons and faults."""
    header = (
        f"{'scenario':<14}{'streams':>8}{'passed':>8}{'failed':>8}{'aborted':>8}{'cut':>6}  "
        f"{'TTFT p50/p90/p99 ms':<26}{'ITL p50/p90/p99 ms':<26}"
        f"{'stream p50/p99 ms':<20}{'tok/s':>8}"
    )
    out = [header, "-" * len(header)]
    for s in summaries.values():
        stream = "-" if s.stream.count == 0 else f"{s.stream.p50:.0f} / {s.stream.p99:.0f}"
        rate = "-" if math.isnan(s.tokens_per_s) else f"{s.tokens_per_s:.0f}"
        out.append(
            f"{s.scenario:<14}{s.streams:>8}{s.passed:>8}{s.failed:>8}{s.aborted:>8}"
            f"{s.stopped:>6}  "
            f"{_three(s.ttft):<26}{_three(s.itl):<26}{stream:<20}{rate:>8}"
        )
    for s in summaries.values():
        if s.stopped:
            none = "; none ended: a run longer than one stream (-t) measures them" * (not s.streams)
            out.append(
                f"{s.scenario}: {s.stopped} streams still open at the run's end were cut, "
                f"left out of the figures{none}"
            )
        if s.scheduled_ttft is not None:
            out.append(
                f"{s.scenario}: TTFT from the scheduled start p50/p90/p99 "
                f"{_three(s.scheduled_ttft)} ms (from the actual send: {_three(s.ttft)} ms)"
            )
        for reason, count in sorted(s.failures.items(), key=lambda item: -item[1]):
            out.append(f"{s.scenario}: {count} failed: {reason}")
        for fault, codes in s.faults.items():
            seen = ", ".join(f"{code} x{count}" for code, count in sorted(codes.items()))
            out.append(f"{s.scenario}: fault {fault} surfaced as {seen}")
    return out


def window_ttft(lines: Iterable[Line], window: Sequence[float]) -> Distribution:
    """TTFT of the streams whose first token arrived within `window` (wall-clock seconds)."""
    start, end = window
    return _ms(
        line["ttft_ms"]
        for line in lines
        if line["ttft_ms"] is not None
        and start <= line["started_wall"] + line["ttft_ms"] / 1000.0 <= end
    )


def render_steps(steps: Sequence[dict[str, Any]], lines: Sequence[Line]) -> list[str]:
    """The step table; adds `raw_ttft_p99_ms` to each step from the records."""
    out = [
        "steps (judged live on Locust's histogram; raw p99 from the records):",
        f"{'users':>7}{'open':>7}{'first tokens':>14}{'p99 live':>10}{'p99 raw':>10}"
        f"{'failures':>10}  verdict",
    ]
    for step in steps:
        raw = window_ttft(lines, step["window"])
        step["raw_ttft_p99_ms"] = _finite(raw.p99)
        out.append(
            f"{step['users']:>7}{step['open_streams']:>7.0f}{raw.count:>14}"
            f"{step['ttft_p99_ms']:>10.0f}{raw.p99:>10.1f}{step['failures']:>10}  "
            f"{'held' if step['passed'] else 'broke'}: {step['reason']}"
        )
    return out
