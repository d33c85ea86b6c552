"""Was the load generator the bottleneck? If so the figures are its own, not the target's.

Two signs, judged at the end of a run. CPU: each Locust process samples its own CPU (psutil,
percent of one core, once a second while users run); a process busy at the limit reads its
sockets late, so TTFT grows and gaps bunch up whatever the target does. Coalescing: an
inter-token gap of exactly 0 ms means two token events came out of one socket read, i.e. they
waited in the kernel for the reader; when many do, the ITL figures are the reader's backlog
(or the target writes its events in batches, which the same figures would misreport too).
No Locust in here: `hooks.py` samples and ships, this decides.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghoststream.harness.stats import percentile

INVALID_EXIT_CODE = 3
"""The run's exit status when the generator was saturated, ahead of 1 (failures): under a
saturated generator, timeouts and hangs may be its own too."""
MIN_GAPS = 50
"""Fewer gaps than this say nothing about coalescing."""
REMEDY = (
    "spread the load over more processes: `python -m loadtests --processes N` (Locust's"
    " `--processes N`, -1 for one per core) or `--workers N`, or run fewer users per process"
)


@dataclass(frozen=True)
class Limits:
    max_cpu_percent: float = 90.0
    """A process whose 90th-percentile CPU sample is above this was saturated."""
    max_coalesced: float = 0.2
    """A run with more than this share of 0 ms gaps read its events coalesced."""


@dataclass(frozen=True)
class Verdict:
    cpu_p90: dict[str, float]
    """Each generator process (its pid) -> its 90th-percentile CPU sample, percent of a core."""
    coalesced: float | None
    """Share of inter-token gaps that were 0 ms; None with too few gaps to say."""
    reasons: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.reasons

    def message(self) -> str:
        return (
            "FIGURES INVALID: the load generator was saturated ("
            + "; ".join(self.reasons)
            + f"), so latency and throughput are partly its own. Remedy: {REMEDY}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "cpu_p90_percent": self.cpu_p90,
            "coalesced_share": self.coalesced,
            "reasons": list(self.reasons),
            "remedy": None if self.valid else REMEDY,
        }

    def write_csv(self, path: Path) -> None:
        """One row per generator process, each with the run's verdict."""
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["source", "cpu_p90_percent", "coalesced_share", "valid", "reasons"])
            share = "" if self.coalesced is None else f"{self.coalesced:.4f}"
            for source, cpu in sorted(self.cpu_p90.items()) or [("", float("nan"))]:
                writer.writerow([source, f"{cpu:.1f}", share, self.valid, "; ".join(self.reasons)])


def coalesced_share(lines: Iterable[Mapping[str, Any]]) -> float | None:
    """Share of 0 ms gaps over streams not cut off by the test's end."""
    zero = total = 0
    for line in lines:
        if line["stopped"]:
            continue
        gaps = line["gaps_ms"]
        total += len(gaps)
        zero += sum(1 for gap in gaps if gap == 0.0)
    return zero / total if total >= MIN_GAPS else None


def judge(
    cpu: Mapping[str, Sequence[float]], lines: Iterable[Mapping[str, Any]], limits: Limits
) -> Verdict:
    p90 = {source: percentile(samples, 90.0) for source, samples in cpu.items() if samples}
    reasons = [
        f"process {source} at {value:.0f}% CPU (p90 of its samples; limit"
        f" {limits.max_cpu_percent:g}%)"
        for source, value in sorted(p90.items())
        if value > limits.max_cpu_percent
    ]
    share = coalesced_share(lines)
    if share is not None and share > limits.max_coalesced:
        reasons.append(
            f"{share:.0%} of inter-token gaps were 0 ms, token events read together"
            f" (limit {limits.max_coalesced:.0%})"
        )
    return Verdict(p90, share, tuple(reasons))
