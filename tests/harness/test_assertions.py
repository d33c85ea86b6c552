"""The stream assertions: each passes on a good stream and fails on a bad one with a message
that shows the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ghoststream.harness.assertions import (
    assert_completed,
    assert_increasing_ids,
    assert_no_bunching,
    assert_ttft_within,
    assert_upstream_cancelled,
    timeline,
)
from ghoststream.harness.records import StreamRecord


def stream(times_ms: list[float], **fields: Any) -> StreamRecord:
    record = StreamRecord(started_at=100.0, status=200, headers_at=100.01, terminal="done")
    record.token_times = [100.0 + t / 1000 for t in times_ms]
    record.texts = [f"t{i}" for i in range(len(times_ms))]
    record.event_ids = [str(i + 1) for i in range(len(times_ms) + 1)]
    record.ended_at = record.token_times[-1] if times_ms else 100.0
    for name, value in fields.items():
        setattr(record, name, value)
    return record


GOOD = stream([50, 60, 70, 80, 90])
Check = Callable[[StreamRecord], None]
CASES: list[tuple[str, Check, StreamRecord, str]] = [
    ("an error end", assert_completed, stream([50], terminal="error"), "end with 'done'"),
    ("a lost connection", assert_completed, stream([50], transport_error="lost"), "'done'"),
    ("ids out of order", assert_increasing_ids, stream([50, 60], event_ids=["2", "1"]), "(2, 1)"),
    ("no ids", assert_increasing_ids, stream([50], event_ids=[]), "no event carried an id"),
    ("a slow first token", lambda r: assert_ttft_within(r, 0, 40), GOOD, "TTFT 50.0 ms"),
    ("no token", lambda r: assert_ttft_within(r, 0, 40), stream([]), "no token arrived"),
    (
        "tokens in one burst",
        lambda r: assert_no_bunching(r, itl_ms=10),
        stream([50, 50, 50, 50, 90]),
        "3 of 4 gaps",
    ),
]


@pytest.mark.parametrize(
    ("check", "bad", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_an_assertion_fails_with_the_timeline(check: Check, bad: StreamRecord, says: str) -> None:
    with pytest.raises(AssertionError) as failure:
        check(bad)
    assert says in str(failure.value)
    assert "request sent" in str(failure.value)


def test_a_good_stream_passes_every_assertion() -> None:
    assert_completed(GOOD)
    assert_increasing_ids(GOOD)
    assert_ttft_within(GOOD, 40, 60)
    assert_no_bunching(GOOD, itl_ms=10)


def test_a_cancellation_is_judged_against_the_upstream_record() -> None:
    left = stream([50, 60], terminal=None, aborted=True, aborted_at_wall=1000.0)
    assert_upstream_cancelled(left, {"outcome": "cancelled", "ended_at": 1000.05}, within_ms=100)
    with pytest.raises(AssertionError, match="cancelled 300.0 ms after"):
        assert_upstream_cancelled(left, {"outcome": "cancelled", "ended_at": 1000.3}, 100)
    with pytest.raises(AssertionError, match="ended 'completed'"):
        assert_upstream_cancelled(left, {"outcome": "completed", "ended_at": 1000.0}, 100)


def test_a_long_timeline_elides_its_middle() -> None:
    text = timeline(stream([float(t) for t in range(100)]))
    assert "... 76 tokens ..." in text
    assert len(text.splitlines()) < 40
