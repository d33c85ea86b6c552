"""The capacity step shape and the open-loop scenario, end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.loadtests.conftest import Run


def test_the_step_shape_climbs_while_the_slo_holds(load: Run) -> None:
    run = load(
        "--step", "--step-users", "4", "--step-seconds", "3", "--settle-seconds", "1",
        "--max-users", "8", name="steps",
    )  # fmt: skip
    assert run.code == 0, run.output[-3000:]
    summary = run.files.summary()
    assert [step["users"] for step in summary["steps"]] == [4, 8]
    assert all(step["passed"] for step in summary["steps"])
    assert summary["capacity_users"] == 8 and summary["capacity_open_streams"] >= 7
    assert all(step["raw_ttft_p99_ms"] <= 400 for step in summary["steps"])
    assert "capacity: 8 users" in run.output


def test_the_step_shape_stops_at_the_first_step_that_breaks_the_slo(load: Run) -> None:
    """An SLO below the mock's own 200 ms TTFT cannot hold: the first step breaks it."""
    run = load(
        "--step", "--step-users", "3", "--step-seconds", "2", "--settle-seconds", "0.5",
        "--slo-ttft-ms", "150", name="broke",
    )  # fmt: skip
    assert run.code == 0, run.output[-3000:]
    summary = run.files.summary()
    assert summary["capacity_users"] is None
    assert [(step["users"], step["passed"]) for step in summary["steps"]] == [(3, False)]
    assert "SLO 150 ms" in summary["steps"][0]["reason"]


def test_open_loop_starts_streams_on_schedule_whatever_the_backlog(load: Run) -> None:
    """Two users at 4 streams/s each, streams of ~1.2 s: a closed loop would manage ~1.7/s per
    user; the open loop keeps its schedule and times latency from each scheduled start."""
    run = load(
        "--scenario", "open_loop", "-u", "2", "-r", "2", "-t", "4s", "--arrival-rate", "4",
        name="open",
    )  # fmt: skip
    assert run.code == 0, run.output[-3000:]
    lines = run.files.lines()
    assert len(lines) >= 2 * 4 * 3  # started streams, finished or cut off at the end
    summary = run.files.summary()["scenarios"]["open_loop"]
    assert summary["scheduled_ttft_ms"]["p50"] >= summary["ttft_ms"]["p50"]
    assert all(line["scheduled_delay_ms"] >= 0 for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "dialect_note"),
    [
        ("direct", "the mock's OpenAI stream"),
        ("naive", "the naive relay's raw text"),
        ("hold_open", "slow streams through the service"),
    ],
)
def test_every_other_scenario_runs_clean(load: Run, scenario: str, dialect_note: str) -> None:
    run = load(
        "--scenario", scenario, "-u", "3", "-r", "3", "-t", "3s",
        "--hold-itl-ms", "100", "--hold-tokens", "10", name=scenario,
    )  # fmt: skip
    assert run.code == 0, f"{dialect_note}: {run.output[-3000:]}"
    summary = run.files.summary()["scenarios"][scenario]
    assert summary["passed"] >= 3 and summary["failed"] == 0
    assert 195 <= summary["ttft_ms"]["p50"] <= 300
