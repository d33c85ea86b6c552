"""The step ladder: more users each step until the SLO breaks; the last step that held wins."""

from __future__ import annotations

from collections import Counter

from loadtests.steps import StepLadder, StepPlan

PLAN = StepPlan(
    start_users=10,
    step_users=10,
    step_s=10.0,
    settle_s=3.0,
    max_users=40,
    slo_ttft_ms=400.0,
    spawn_rate=10.0,
)


class Feed:
    """Running totals as the Locust master would have them, one tick a second."""

    def __init__(self, ladder: StepLadder) -> None:
        self.ladder = ladder
        self.ttft: Counter[int] = Counter()
        self.failures = 0
        self.now = 0.0
        self.decisions: list[tuple[int, float] | None] = []

    def run(self, seconds: int, ttft_ms: int, per_tick: int = 5, failures: int = 0) -> None:
        """Tick, then let a second pass in which `per_tick` first tokens of `ttft_ms` arrive."""
        for _ in range(seconds):
            self.decisions.append(
                self.ladder.tick(self.now, self.ttft, self.failures, 7, wall=1000.0 + self.now)
            )
            self.ttft[ttft_ms] += per_tick
            self.failures += failures
            self.now += 1.0


def test_steps_up_while_the_slo_holds_and_stops_at_the_step_that_breaks_it() -> None:
    feed = Feed(StepLadder(PLAN))
    feed.run(10, ttft_ms=210)
    feed.run(10, ttft_ms=250)
    feed.run(10, ttft_ms=600)
    feed.run(1, ttft_ms=600)
    users = [d[0] for d in feed.decisions if d is not None]
    assert users[0] == 10 and users[-1] == 30 and sorted(set(users)) == [10, 20, 30]
    assert feed.decisions[-1] is None and feed.ladder.done
    capacity, broke = feed.ladder.capacity, feed.ladder.broke_at
    assert capacity is not None and capacity.users == 20 and capacity.open_streams == 7
    assert broke is not None and broke.users == 30
    assert broke.reason == "TTFT p99 600 ms > SLO 400 ms"


def test_the_settle_time_at_a_steps_start_is_not_judged() -> None:
    """A burst of slow first tokens while new users connect does not break the step."""
    feed = Feed(StepLadder(PLAN))
    feed.run(3, ttft_ms=900)
    feed.run(8, ttft_ms=210)
    result = feed.ladder.results[0]
    assert result.passed and result.ttft_p99_ms == 210.0
    assert result.window == (1003.0, 1010.0)


def test_any_failure_in_the_window_breaks_the_step() -> None:
    feed = Feed(StepLadder(PLAN))
    feed.run(11, ttft_ms=210, failures=1)
    assert feed.ladder.capacity is None
    assert feed.ladder.broke_at is not None and "failures" in feed.ladder.broke_at.reason


def test_a_window_without_first_tokens_breaks_the_step() -> None:
    feed = Feed(StepLadder(PLAN))
    feed.run(11, ttft_ms=210, per_tick=0)
    broke = feed.ladder.broke_at
    assert broke is not None and broke.reason == "no first tokens in the judged window"


def test_stops_after_the_last_step_when_nothing_breaks() -> None:
    feed = Feed(StepLadder(PLAN))
    feed.run(45, ttft_ms=210)
    assert [r.users for r in feed.ladder.results] == [10, 20, 30, 40]
    assert all(r.passed for r in feed.ladder.results) and feed.ladder.broke_at is None
    assert feed.decisions[-1] is None
