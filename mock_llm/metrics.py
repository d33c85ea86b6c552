"""Prometheus exposition of the ledger's counters, read at scrape time (nothing per token)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .ledger import Ledger


class LedgerCollector(Collector):
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def collect(self) -> Iterator[Metric]:
        stats = self.ledger.stats()
        yield GaugeMetricFamily("mock_llm_open_streams", "Streams open now.", value=stats["open"])
        outcomes = CounterMetricFamily(
            "mock_llm_streams", "Streams ended, by outcome.", labels=["outcome"]
        )
        for outcome, key in (
            ("completed", "completed"),
            ("cancelled", "cancelled"),
            ("fault", "faulted"),
        ):
            outcomes.add_metric([outcome], stats[key])
        yield outcomes
        yield CounterMetricFamily(
            "mock_llm_requests_started", "Requests accepted.", value=stats["started"]
        )
        yield CounterMetricFamily(
            "mock_llm_requests_rejected",
            "Requests pushed back by --max-concurrency.",
            value=stats["rejected"],
        )
        yield CounterMetricFamily(
            "mock_llm_tokens_sent", "Tokens streamed.", value=stats["tokens_sent"]
        )
        yield CounterMetricFamily(
            "mock_llm_tokens_saved",
            "Planned tokens never generated because the client left.",
            value=stats["tokens_saved"],
        )


def registry_for(ledger: Ledger) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(ledger))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
