"""Prometheus metrics: what operators watch. Updated once per stream event, never per token.

Each app gets its own registry, so several apps in one process (tests) do not collide. With
several worker processes (`PROMETHEUS_MULTIPROC_DIR` set, as `--workers N` does), each writes its
values to files there and `/metrics` adds them up, whichever worker answers the scrape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.open_streams = Gauge(
            "ghoststream_open_streams",
            "Streams open right now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.ttft = Histogram(
            "ghoststream_ttft_seconds",
            "Time from request to the first token sent.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "ghoststream_stream_duration_seconds",
            "Whole stream duration.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "ghoststream_tokens_relayed", "Token events sent to clients.", registry=r
        )
        self.streams = Counter(
            "ghoststream_streams",
            "Streams by how they ended: done, error, cancelled.",
            ["outcome"],
            registry=r,
        )
        self.cancellations = Counter(
            "ghoststream_cancellations", "Streams cancelled by their client.", registry=r
        )
        self.cancelled_tokens = Counter(
            "ghoststream_cancelled_stream_tokens",
            "Tokens relayed by streams their client cancelled: what those streams cost upstream.",
            registry=r,
        )
        self.rejections = Counter(
            "ghoststream_rejections",
            "Requests refused before streaming, by code.",
            ["code"],
            registry=r,
        )
        self.stream_errors = Counter(
            "ghoststream_stream_errors",
            "Streams that ended in an error event, by code.",
            ["code"],
            registry=r,
        )

        self.connections_closed = Counter(
            "ghoststream_connections_closed",
            "Connections closed by the HTTP layer's limits, by reason.",
            ["reason"],
            registry=r,
        )

    def connection_closed(self, reason: str) -> None:
        self.connections_closed.labels(reason).inc()

    def render(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            every_worker = CollectorRegistry()
            multiprocess.MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
            return generate_latest(every_worker)
        return generate_latest(self.registry)
