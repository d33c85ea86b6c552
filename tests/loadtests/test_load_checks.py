"""The scenarios that check the service's behaviour, not just its speed, end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ghoststream.load.outcome import FAULT_CODES

if TYPE_CHECKING:
    from tests.loadtests.conftest import Run


def test_cancel_storm_every_abort_is_a_cancelled_upstream_stream(load: Run) -> None:
    run = load("--scenario", "cancel_storm", "-u", "10", "-r", "10", "-t", "4s", name="cancel")
    assert run.code == 0, run.output[-3000:]
    check = run.files.summary()["cancel_check"]
    assert check["passed"] and check["mock_open"] == 0
    assert check["mock_cancelled"] == check["client_aborts"] + check["stopped_by_test_end"] > 20
    lines = run.files.lines()
    assert all(line["aborted"] and 5 <= line["tokens"] < 50 for line in lines)
    assert "cancel check OK" in run.output


def test_fault_mix_every_fault_surfaces_as_its_documented_code(load: Run) -> None:
    """Each injected fault ends in its `event: error` code, within the stream's time bound
    (a stalled upstream after the service's idle timeout, 2 s in this run); none hangs."""
    run = load(
        "--scenario", "fault_mix", "-u", "14", "-r", "14", "-t", "6s", "--fault-rate", "0.8",
        name="faults",
    )  # fmt: skip
    assert run.code == 0, run.output[-3000:]
    lines = [line for line in run.files.lines() if not line["stopped"]]
    seen: dict[str, set[str | None]] = {}
    for line in lines:
        if line["fault"] is not None:
            seen.setdefault(line["fault"], set()).add(line["error_code"])
    assert seen == {fault: {code} for fault, code in FAULT_CODES.items()}
    assert all(line["passed"] for line in lines)
    assert all(line["duration_ms"] < 15_000 for line in lines)
    assert any(line["fault"] is None and line["terminal"] == "done" for line in lines)
