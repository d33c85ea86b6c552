"""Assertions on a recorded stream, each failing with the stream's timeline so the reader sees
what happened, not just that something did. Pure: a `StreamRecord` (and a mock ledger record)
in, `AssertionError` out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghoststream.harness.records import StreamRecord

TIMELINE_TOKENS = 12
"""Tokens shown at each end of a timeline; the middle of a long stream is elided."""


def timeline(record: StreamRecord) -> str:
    """The stream as a client saw it, in milliseconds from the request's start."""

    def at(t: float) -> str:
        return f"{(t - record.started_at) * 1000:+9.1f} ms"

    lines = [f"{at(record.started_at)}  request sent"]
    if record.headers_at is not None:
        lines.append(f"{at(record.headers_at)}  status {record.status}")
    pairs = list(zip(record.token_times, record.texts, strict=False))
    shown = pairs
    if len(pairs) > 2 * TIMELINE_TOKENS:
        shown = pairs[:TIMELINE_TOKENS] + pairs[-TIMELINE_TOKENS:]
    for index, (t, text) in enumerate(shown):
        if len(pairs) > len(shown) and index == TIMELINE_TOKENS:
            lines.append(f"{'':>12}  ... {len(pairs) - len(shown)} tokens ...")
        lines.append(f"{at(t)}  token {text!r}")
    if record.ended_at is not None:
        end = record.terminal or ("aborted by the client" if record.aborted else "no terminal")
        lines.append(f"{at(record.ended_at)}  end: {end} {record.terminal_data or ''}".rstrip())
    if record.transport_error:
        lines.append(f"{'':>12}  transport error: {record.transport_error}")
    return "\n".join(lines)


def _fail(message: str, record: StreamRecord) -> AssertionError:
    return AssertionError(f"{message}\n{timeline(record)}")


def assert_completed(record: StreamRecord, terminal: str = "done") -> None:
    """The stream ended with exactly one terminal event, `terminal`, and nothing went wrong."""
    if record.terminal != terminal or record.transport_error or record.aborted:
        raise _fail(f"expected the stream to end with {terminal!r}", record)
    if record.status != 200:
        raise _fail(f"expected status 200, got {record.status}", record)


def assert_increasing_ids(record: StreamRecord) -> None:
    """Every event carried an `id:` and each is a larger integer than the one before."""
    try:
        ids = [int(i) for i in record.event_ids]
    except ValueError:
        raise _fail(f"event ids are not integers: {record.event_ids}", record) from None
    if not ids:
        raise _fail("no event carried an id", record)
    bad = [(a, b) for a, b in zip(ids, ids[1:], strict=False) if b <= a]
    if bad:
        raise _fail(f"event ids do not increase: {bad[:5]} in {ids[:20]}", record)


def assert_ttft_within(record: StreamRecord, low_ms: float, high_ms: float) -> None:
    """The first token arrived between `low_ms` and `high_ms` after the request was sent."""
    if record.ttft is None:
        raise _fail("no token arrived", record)
    ttft_ms = record.ttft * 1000
    if not low_ms <= ttft_ms <= high_ms:
        raise _fail(f"TTFT {ttft_ms:.1f} ms is outside [{low_ms}, {high_ms}] ms", record)


def assert_no_bunching(
    record: StreamRecord, itl_ms: float, floor: float = 0.3, max_share: float = 0.1
) -> None:
    """Tokens arrived as they were produced, not held back and released together: at most
    `max_share` of the gaps are shorter than `floor` times the expected `itl_ms`."""
    gaps = record.gaps
    if not gaps:
        raise _fail("fewer than two tokens: nothing to judge", record)
    short = [g for g in gaps if g * 1000 < floor * itl_ms]
    if len(short) > max_share * len(gaps):
        raise _fail(
            f"{len(short)} of {len(gaps)} gaps are under {floor * itl_ms:.1f} ms "
            f"(tokens {itl_ms} ms apart arrived in bunches)",
            record,
        )


def assert_upstream_cancelled(
    record: StreamRecord, upstream: Mapping[str, Any], within_ms: float
) -> None:
    """The client went away and the mock's record of the upstream request (`mock_llm.
    requests()`) says it was cancelled within `within_ms` of that."""
    if record.aborted_at_wall is None:
        raise _fail("the client never left: abort the stream first", record)
    outcome, ended = upstream.get("outcome"), upstream.get("ended_at")
    if outcome != "cancelled" or ended is None:
        raise _fail(f"the upstream request ended {outcome!r}, not 'cancelled'", record)
    lag_ms = (float(ended) - record.aborted_at_wall) * 1000
    if lag_ms > within_ms:
        raise _fail(
            f"the upstream was cancelled {lag_ms:.1f} ms after the client left "
            f"(allowed {within_ms} ms; it sent {upstream.get('tokens_sent')} tokens)",
            record,
        )
