"""The end-of-run summary from raw lines, and the collector that keeps them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from ghoststream.load.collector import Collector
from ghoststream.load.summary import peak_open, render, render_steps, summarize, window_ttft
from loadtests.steps import histogram_percentile


def raw(
    ttft: float | None = 200.0,
    *,
    scenario: str = "steady_chat",
    gaps: list[float] | None = None,
    passed: bool = True,
    stopped: bool = False,
    fault: str | None = None,
    error_code: str | None = None,
    delay: float = 0.0,
    started: float = 100.0,
) -> dict[str, Any]:
    gaps = [20.0, 20.0] if gaps is None else gaps
    return {
        "scenario": scenario,
        "started_wall": started,
        "ttft_ms": ttft,
        "gaps_ms": gaps,
        "tokens": len(gaps) + 1 if ttft is not None else 0,
        "duration_ms": (ttft or 0.0) + sum(gaps),
        "terminal": "error" if error_code else "done",
        "error_code": error_code,
        "fault": fault,
        "aborted": False,
        "stopped": stopped,
        "passed": passed and not stopped,
        "failure": None if passed or stopped else "error event upstream_error",
        "scheduled_delay_ms": delay,
        "scheduled_ttft_ms": None if ttft is None else ttft + delay,
    }


def test_percentiles_are_exact_not_locusts_buckets() -> None:
    """1,041 ms stays 1,041 ms; Locust's histogram would file it under 1,000."""
    lines = [raw(1041.0 + i * 0.1) for i in range(11)]
    ttft = summarize(lines)["steady_chat"].ttft
    assert ttft.p50 == pytest.approx(1041.5)
    assert histogram_percentile({1000: 11}, 50) == 1000.0


def test_itl_pools_every_gap_and_failures_are_counted_not_timed() -> None:
    lines = [raw(gaps=[10.0, 30.0]), raw(gaps=[20.0]), raw(5000.0, passed=False)]
    s = summarize(lines)["steady_chat"]
    assert (s.streams, s.passed, s.failed) == (3, 2, 1)
    assert s.itl.count == 3 and s.itl.p50 == pytest.approx(20.0)
    assert s.ttft.p99 == pytest.approx(200.0)
    assert s.failures == {"error event upstream_error": 1}


def test_streams_cut_off_by_the_test_are_left_out() -> None:
    s = summarize([raw(), raw(900.0, stopped=True)])["steady_chat"]
    assert (s.streams, s.stopped, s.ttft.count) == (1, 1, 1)


def test_faults_are_tallied_by_what_they_surfaced_as() -> None:
    lines = [
        raw(None, fault="http_500", error_code="upstream_unavailable"),
        raw(None, fault="http_500", error_code="upstream_unavailable"),
        raw(fault="stall_midstream", error_code="idle_timeout"),
    ]
    s = summarize(lines)["steady_chat"]
    assert s.faults == {
        "http_500": {"upstream_unavailable": 2},
        "stall_midstream": {"idle_timeout": 1},
    }
    assert any("fault http_500 surfaced as upstream_unavailable x2" in t for t in render({"x": s}))


def test_open_loop_reports_latency_from_the_scheduled_start() -> None:
    s = summarize([raw(200.0, delay=300.0), raw(200.0, delay=100.0)])["steady_chat"]
    assert s.scheduled_ttft is not None and s.scheduled_ttft.p50 == pytest.approx(400.0)
    assert summarize([raw()])["steady_chat"].scheduled_ttft is None


def test_a_steps_raw_ttft_counts_first_tokens_inside_its_window() -> None:
    lines = [raw(200.0, started=10.0), raw(400.0, started=19.0), raw(900.0, started=30.0)]
    assert window_ttft(lines, (10.0, 20.0)).count == 2
    steps = [
        {
            "users": 5,
            "open_streams": 5.0,
            "ttft_p99_ms": 400.0,
            "failures": 0,
            "passed": True,
            "reason": "ok",
            "window": (10.0, 20.0),
        }
    ]
    table = render_steps(steps, lines)
    assert steps[0]["raw_ttft_p99_ms"] == pytest.approx(398.0)
    assert "held" in table[-1]


def test_collector_writes_one_json_line_per_stream(tmp_path: Path) -> None:
    collector = Collector()
    collector.begin(str(tmp_path / "sub" / "run.jsonl"))
    collector.add([raw(), raw(300.0)])
    collector.end()
    lines = (tmp_path / "sub" / "run.jsonl").read_text().splitlines()
    assert [json.loads(text)["ttft_ms"] for text in lines] == [200.0, 300.0]
    collector.begin(None)
    assert collector.lines == [] and collector.records_path is None


def test_collector_counts_open_streams_here_and_on_workers(tmp_path: Path) -> None:
    collector = Collector()
    collector.opened()
    collector.opened()
    collector.closed()
    collector.open_remote.update({"worker-a": 3, "worker-b": 4})
    assert collector.open_streams() == 8
    assert collector.sample(users=9, service_open=8, mock_open=None) == 8
    collector.write_series(tmp_path / "open.csv")
    header, row = (tmp_path / "open.csv").read_text().splitlines()
    assert header == "timestamp,users,open_streams,service_open,mock_open"
    assert row.endswith(",9,8,8,") and collector.peak() == 8
    collector.note("broke", failed=True)
    assert collector.check_failed and not math.isnan(float(row.split(",")[0]))


def test_a_run_shorter_than_one_stream_shows_its_streams_as_cut() -> None:
    """Regression: a 3 s hold_open run (30 s streams) printed "0 streams" and nothing else."""
    lines = [raw(200.0, scenario="hold_open", stopped=True) for _ in range(5)]
    s = summarize(lines)["hold_open"]
    assert (s.streams, s.stopped) == (0, 5)
    table = render({"hold_open": s})
    assert table[0].split()[:6] == ["scenario", "streams", "passed", "failed", "aborted", "cut"]
    assert table[2].split()[:6] == ["hold_open", "0", "0", "0", "0", "5"]
    assert table[3] == (
        "hold_open: 5 streams still open at the run's end were cut, left out of the figures;"
        " none ended: a run longer than one stream (-t) measures them"
    )


def test_the_open_streams_peak_counts_streams_cut_by_the_end_from_the_records() -> None:
    """Regression: distributed mode printed "peak 0" with streams open, the live sample having
    come before the workers' first report; the records know every start and end or cut."""
    lines = [
        raw(100.0, gaps=[], started=10.0),  # open 10.0 - 10.1
        raw(100.0, gaps=[], started=10.1),  # opens as the first ends: not two at once
        raw(100.0, gaps=[900.0], started=10.15, stopped=True),  # 10.15 - 11.15, cut
        raw(100.0, gaps=[], started=10.5),
        raw(None, gaps=[], started=20.0),  # never a first token, still open for a moment
    ]
    assert peak_open(lines) == 2
    assert peak_open([]) == 0
