"""Step concurrency up until the SLO breaks; the last step that held is the capacity figure.

Pure logic, driven once a second by the LoadTestShape in `step_shape.py` with what the Locust
master has live: the TTFT entries' histogram, the failure count and the open-streams figure. Each
step holds its user count for `step_s`; the first `settle_s` of a step (the ramp's burst of new
connections) is not judged. A step passes when its window had first tokens, no failures, and a
TTFT p99 within `slo_ttft_ms`. The histogram is Locust's (rounded to 10 ms between 100 ms and
1 s), which is what the master has while the test runs; the figures reported afterwards come
from the raw records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ghoststream.harness.stats import percentile


@dataclass(frozen=True)
class StepPlan:
    start_users: int
    step_users: int
    step_s: float
    settle_s: float
    max_users: int
    slo_ttft_ms: float
    spawn_rate: float

    def users(self, step: int) -> int:
        return self.start_users + step * self.step_users


@dataclass(frozen=True)
class StepResult:
    users: int
    samples: int
    ttft_p99_ms: float
    failures: int
    open_streams: float
    """Mean of the open-streams figure over the judged window."""
    passed: bool
    reason: str
    window: tuple[float, float]
    """The judged window in wall-clock seconds, to find the step's streams in the raw records."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def histogram_percentile(histogram: Mapping[int, int], q: float) -> float:
    samples = [float(value) for value, count in sorted(histogram.items()) for _ in range(count)]
    return percentile(samples, q)


@dataclass
class StepLadder:
    plan: StepPlan
    results: list[StepResult] = field(default_factory=list)
    done: bool = False
    _step: int = 0
    _step_started: float = 0.0
    _baseline: tuple[dict[int, int], int] | None = None
    _window_start: float = 0.0
    _open: list[int] = field(default_factory=list)

    @property
    def capacity(self) -> StepResult | None:
        """The last step that held, or None if the first one already broke."""
        held = [result for result in self.results if result.passed]
        return held[-1] if held else None

    @property
    def broke_at(self) -> StepResult | None:
        return self.results[-1] if self.results and not self.results[-1].passed else None

    def tick(
        self,
        run_time: float,
        ttft: Mapping[int, int],
        failures: int,
        open_streams: int,
        wall: float = 0.0,
    ) -> tuple[int, float] | None:
        """The (users, spawn rate) to run now, or None to stop the test. `ttft` and `failures`
        are running totals (Locust's histogram of the TTFT entries, its failure count)."""
        if self.done:
            return None
        plan = self.plan
        if run_time - self._step_started >= plan.step_s:
            result = self._judge(ttft, failures, wall)
            self.results.append(result)
            if not result.passed or plan.users(self._step + 1) > plan.max_users:
                self.done = True
                return None
            self._step += 1
            self._step_started = run_time
            self._baseline = None
            self._open = []
        if self._baseline is None and run_time - self._step_started >= plan.settle_s:
            self._baseline = (dict(ttft), failures)
            self._window_start = wall
        if self._baseline is not None:
            self._open.append(open_streams)
        return plan.users(self._step), plan.spawn_rate

    def _judge(self, ttft: Mapping[int, int], failures: int, wall: float) -> StepResult:
        base_hist, base_failures = self._baseline or (dict(ttft), failures)
        start = self._window_start if self._baseline is not None else wall
        window = {key: count - base_hist.get(key, 0) for key, count in ttft.items()}
        window = {key: count for key, count in window.items() if count > 0}
        samples = sum(window.values())
        p99 = histogram_percentile(window, 99.0)
        failed = failures - base_failures
        open_mean = sum(self._open) / len(self._open) if self._open else math.nan
        slo = self.plan.slo_ttft_ms
        if failed > 0:
            passed, reason = False, f"{failed} failures"
        elif samples == 0:
            passed, reason = False, "no first tokens in the judged window"
        elif p99 > slo:
            passed, reason = False, f"TTFT p99 {p99:.0f} ms > SLO {slo:.0f} ms"
        else:
            passed, reason = True, f"TTFT p99 {p99:.0f} ms <= {slo:.0f} ms, no failures"
        users = self.plan.users(self._step)
        return StepResult(users, samples, p99, failed, open_mean, passed, reason, (start, wall))
