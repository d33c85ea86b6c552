"""Capacity: add users a step at a time until the SLO breaks. Load it next to the scenarios:

    locust -f loadtests/locustfile.py,loadtests/step_shape.py --host ... --headless [UserClass]

A separate file because Locust uses any LoadTestShape it finds in a locustfile. Steps of
`--step-users` every `--step-seconds`, judged after `--settle-seconds`; the SLO is a TTFT p99
within `--slo-ttft-ms` (default twice `--ttft-ms`) and no failures. The last step that held is
printed at the end as the capacity figure, with the open streams it held. See `steps.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locust import LoadTestShape

from ghoststream.load import hooks
from ghoststream.load.collector import COLLECTOR
from loadtests.steps import StepLadder, StepPlan


class StepUntilSLOBreaks(LoadTestShape):
    use_common_options = False

    def __init__(self) -> None:
        super().__init__()
        self.ladder: StepLadder | None = None

    def plan(self) -> StepPlan:
        assert self.runner is not None
        env = self.runner.environment
        step = int(hooks.option(env, "step_users", 50))
        start = int(hooks.option(env, "step_start", 0)) or step
        settle = float(hooks.option(env, "settle_seconds", 5.0))
        ttft = float(hooks.option(env, "ttft_ms", 200.0))
        return StepPlan(
            start_users=start,
            step_users=step,
            step_s=float(hooks.option(env, "step_seconds", 15.0)),
            settle_s=settle,
            max_users=int(hooks.option(env, "max_users", 5000)),
            slo_ttft_ms=float(hooks.option(env, "slo_ttft_ms", 0.0)) or 2.0 * ttft,
            # Each step's new users (the first step's too) arrive while it settles.
            spawn_rate=max(1.0, max(start, step) / max(1.0, settle)),
        )

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        if self.ladder is None:
            self.ladder = StepLadder(self.plan())
            hooks.log.info("step shape: %s", self.ladder.plan)
        ttft: dict[int, int] = {}
        for (name, _), entry in self.runner.stats.entries.items():
            if name == "TTFT":
                for value, count in entry.response_times.items():
                    ttft[value] = ttft.get(value, 0) + count
        before = len(self.ladder.results)
        decision = self.ladder.tick(
            self.get_run_time(),
            ttft,
            self.runner.stats.total.num_failures,
            COLLECTOR.open_streams(),
            time.time(),
        )
        for result in self.ladder.results[before:]:
            hooks.log.info("step %d users: %s", result.users, result.reason)
        if decision is None:
            self.report()
        return decision

    def report(self) -> None:
        assert self.ladder is not None
        held, broke = self.ladder.capacity, self.ladder.broke_at
        if held is None:
            text = "capacity: the first step already broke the SLO"
        else:
            text = (
                f"capacity: {held.users} users, {held.open_streams:.0f} open streams held"
                f" ({held.reason})"
            )
        text += f"; broke at {broke.users} users: {broke.reason}" if broke else "; never broke"
        COLLECTOR.note(text)
        COLLECTOR.results["steps"] = [result.as_dict() for result in self.ladder.results]
        COLLECTOR.results["capacity_users"] = None if held is None else held.users
        COLLECTOR.results["capacity_open_streams"] = None if held is None else held.open_streams
