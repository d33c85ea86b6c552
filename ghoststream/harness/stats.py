"""Latency statistics from raw per-stream records, named as the field names them (vLLM's benchmark).

TTFT: request start to first token. ITL: one sample per inter-token gap, pooled over streams.
TPOT: (E2E - TTFT) / (tokens - 1) per stream. E2E: request start to stream end. Percentiles are
computed from the raw samples (linear interpolation), never from rounded buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ghoststream.harness.records import StreamRecord

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; NaN if empty."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50.0)


@dataclass(frozen=True)
class Distribution:
    """Summary of one metric in milliseconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float

    @classmethod
    def of_seconds(cls, samples: Sequence[float]) -> Distribution:
        ms = [s * 1000.0 for s in samples]
        mean = sum(ms) / len(ms) if ms else math.nan
        p50, p90, p99, p999 = (percentile(ms, q) for q in PERCENTILES)
        return cls(len(ms), mean, p50, p90, p99, p999)


@dataclass(frozen=True)
class Summary:
    """What a run of streams looked like, vLLM-style."""

    streams: int
    failed: int
    ttft: Distribution
    itl: Distribution
    tpot: Distribution
    e2e: Distribution
    output_tokens: int
    output_tokens_per_s: float
    goodput: float
    """Share of streams that succeeded within the SLOs given (1.0 of the good ones with none)."""
    met_slo: int
    """Streams that succeeded within the SLOs given."""
    goodput_per_s: float
    """Those streams per second of the run: vLLM's goodput."""


def tpot(record: StreamRecord) -> float | None:
    if record.ttft is None or record.duration is None or record.tokens < 2:
        return None
    return (record.duration - record.ttft) / (record.tokens - 1)


def summarize(
    records: Iterable[StreamRecord],
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
) -> Summary:
    records = list(records)
    ok = [r for r in records if r.ok]
    ttfts = [r.ttft for r in ok if r.ttft is not None]
    gaps = [g for r in ok for g in r.gaps]
    tpots = [t for r in ok if (t := tpot(r)) is not None]
    e2es = [r.duration for r in ok if r.duration is not None]
    tokens = sum(r.tokens for r in ok)
    span_start = min((r.started_at for r in records), default=0.0)
    span_end = max((r.ended_at or r.started_at for r in records), default=0.0)
    span = span_end - span_start
    good = sum(meets_slo(r, ttft_slo_s, tpot_slo_s) for r in ok)
    return Summary(
        streams=len(records),
        failed=len(records) - len(ok),
        ttft=Distribution.of_seconds(ttfts),
        itl=Distribution.of_seconds(gaps),
        tpot=Distribution.of_seconds(tpots),
        e2e=Distribution.of_seconds(e2es),
        output_tokens=tokens,
        output_tokens_per_s=tokens / span if span > 0 else math.nan,
        goodput=good / len(records) if records else math.nan,
        met_slo=good,
        goodput_per_s=good / span if span > 0 else math.nan,
    )


def meets_slo(
    record: StreamRecord, ttft_slo_s: float | None = None, tpot_slo_s: float | None = None
) -> bool:
    """Succeeded within the SLOs, per request as `vllm bench serve --goodput` judges: its
    TTFT, and its TPOT (mean inter-token latency; a one-token stream has none to miss)."""
    if not record.ok:
        return False
    if ttft_slo_s is not None and (record.ttft is None or record.ttft > ttft_slo_s):
        return False
    per_token = tpot(record)
    return tpot_slo_s is None or per_token is None or per_token <= tpot_slo_s
