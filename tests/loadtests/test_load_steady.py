"""`python -m loadtests`: a short headless steady-chat run against a real mock and service."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.loadtests.conftest import Run

CONFIGURED_TTFT_MS = 200.0
STREAM_MS = 200 + 49 * 20  # TTFT plus 49 gaps of 20 ms


def test_steady_chat_ttft_is_the_configured_one_and_nothing_fails(load: Run) -> None:
    run = load("-u", "20", "-r", "20", "-t", "10s", "--live-every", "2", name="steady")
    assert run.code == 0, run.output[-3000:]

    stats = run.files.stats()
    ttft = stats[("steady_chat", "TTFT")]
    assert 195 <= float(ttft["50%"]) <= 300, ttft
    assert int(stats[("", "Aggregated")]["Failure Count"]) == 0
    assert int(stats[("steady_chat", "stream")]["Request Count"]) >= 100

    lines = run.files.lines()
    counted = [line for line in lines if not line["stopped"]]
    assert counted and all(line["passed"] for line in counted)
    assert {line["scenario"] for line in lines} == {"steady_chat"}

    summary = run.files.summary()["scenarios"]["steady_chat"]
    assert 195 <= summary["ttft_ms"]["p50"] <= 300
    assert 15 <= summary["itl_ms"]["p50"] <= 25
    assert summary["failed"] == 0
    assert STREAM_MS - 10 <= summary["stream_ms"]["p50"] <= STREAM_MS + 150
    assert "ghoststream raw per-stream summary" in run.output
    assert "open streams: 20 held by 20 users" in run.output  # the live figure, while running
