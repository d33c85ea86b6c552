"""What a stream's record means for a load test, and the raw line it leaves."""

from __future__ import annotations

import json

import pytest

from ghoststream.harness.records import StreamRecord
from ghoststream.load.outcome import FAULT_CODES, Expectation, failure, line, median_gap_ms
from service.errors import STREAM_ERRORS


def record(**fields: object) -> StreamRecord:
    base: dict[str, object] = {"started_at": 10.0, "status": 200, "ended_at": 11.0}
    return StreamRecord(**{**base, **fields})  # type: ignore[arg-type]


def done(**fields: object) -> StreamRecord:
    return record(terminal="done", token_times=[10.2, 10.22, 10.24], **fields)


def error(code: str) -> StreamRecord:
    return record(terminal="error", terminal_data={"code": code}, token_times=[10.2])


@pytest.mark.parametrize(
    ("case", "expect", "reason"),
    [
        (done(), Expectation(), None),
        (error("upstream_error"), Expectation(), "error event upstream_error"),
        (record(token_times=[10.2]), Expectation(), "ended without a terminal event"),
        (
            record(transport_error="no end after 5 s"),
            Expectation(),
            "hang: no end after 5 s",
        ),
        (
            record(transport_error="connect failed: refused"),
            Expectation(),
            "transport: connect failed: refused",
        ),
        (
            record(status=400, terminal_data={"body": '{"error": {"code": "empty_prompt"}}'}),
            Expectation(),
            "HTTP 400 empty_prompt",
        ),
        (
            record(status=502, terminal_data={"body": "bad gateway"}),
            Expectation(),
            "HTTP 502 no error code",
        ),
        (done(aborted=True), Expectation(abort_after_tokens=3), None),
        (done(aborted=True), Expectation(abort_after_tokens=5), "closed early by the client"),
        (error("idle_timeout"), Expectation(fault="stall_midstream"), None),
        (
            done(),
            Expectation(fault="http_500"),
            "fault http_500 surfaced as done, not upstream_unavailable",
        ),
        (
            error("upstream_error"),
            Expectation(fault="malformed_midstream"),
            "fault malformed_midstream surfaced as upstream_error, not upstream_malformed",
        ),
    ],
    ids=[
        "a done stream passes",
        "an unasked error event fails",
        "a body that just ends fails",
        "no end within the bound is a hang",
        "a refused connection fails",
        "a 4xx fails with its code",
        "a non-JSON error body still fails",
        "an abort that was asked for passes",
        "an abort before K tokens fails",
        "a fault surfacing as its code passes",
        "a fault that never surfaced fails",
        "a fault surfacing as another code fails",
    ],
)
def test_failure_reasons(case: StreamRecord, expect: Expectation, reason: str | None) -> None:
    assert failure(case, expect) == reason


def test_every_fault_maps_to_a_documented_stream_error() -> None:
    assert set(FAULT_CODES.values()) <= set(STREAM_ERRORS)


def test_a_line_is_json_in_milliseconds() -> None:
    raw = line(
        done(),
        scenario="steady_chat",
        user="SteadyChatUser",
        source=1,
        started_wall=1_000.0,
        scheduled_delay_s=0.005,
    )
    assert json.loads(json.dumps(raw)) == raw
    assert raw["ttft_ms"] == pytest.approx(200.0)
    assert raw["gaps_ms"] == pytest.approx([20.0, 20.0])
    assert raw["duration_ms"] == pytest.approx(1000.0)
    assert raw["scheduled_ttft_ms"] == pytest.approx(205.0)
    assert raw["passed"] and not raw["stopped"] and raw["failure"] is None


def test_a_stream_cut_off_by_the_test_neither_passes_nor_fails() -> None:
    raw = line(
        record(), scenario="s", user="U", source=1, started_wall=0.0, stopped=True, reason=None
    )
    assert raw["stopped"] and not raw["passed"] and raw["failure"] is None


def test_the_itl_entry_gets_the_streams_median_gap() -> None:
    assert median_gap_ms(record(token_times=[0.0, 0.01, 0.03, 0.06])) == pytest.approx(20.0)
    assert median_gap_ms(record(token_times=[0.0])) is None
