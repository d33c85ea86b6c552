"""The benchmark report claims only what its run can back."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.report import Report


def _report(quick: bool) -> Report:
    report = Report(quick=quick)
    report.add("added TTFT c=100", "service p99", 12.0, "ms", "<= 10 ms", False)
    report.add("added TTFT c=1", "service p50", 1.0, "ms", "<= 2 ms", True)
    report.add("CPU", "mock tokens per CPU-second", math.inf, "tok/s", ">= 40,000", True)
    return report


def test_a_quick_run_gives_no_verdicts() -> None:
    """Regression: quick mode printed "**no**" and "inf" from samples of twenty streams."""
    table = "\n".join(_report(quick=True).table())
    assert "| met |" not in table
    assert "yes" not in table and "**no**" not in table
    assert "inf" not in table
    assert "| CPU | mock tokens per CPU-second | n/a | >= 40,000 |" in table


def test_a_full_run_judges_each_measured_target() -> None:
    rows = _report(quick=False).table()
    assert rows[2] == "| added TTFT c=100 | service p99 | 12 ms | <= 10 ms | **no** |"
    assert rows[3] == "| added TTFT c=1 | service p50 | 1 ms | <= 2 ms | yes |"
    assert rows[4] == "| CPU | mock tokens per CPU-second | n/a | >= 40,000 |  |", "unjudged"


def test_the_quick_summary_says_it_is_not_for_figures(tmp_path: Path) -> None:
    text = _report(quick=True).write(tmp_path).read_text()
    assert "no target is judged" in text
