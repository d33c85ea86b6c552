"""CPU per relayed token: service vs naive relay vs the mock itself, over the same fixed load."""

from __future__ import annotations

import asyncio
import contextlib

from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.conftest import serve_service
from benchmarks.endpoints import Endpoint
from benchmarks.load import CpuMeter, run_streams
from benchmarks.report import Report
from benchmarks.sweeps import failures
from mock_llm.directive import directive


async def _measure(endpoint: Endpoint, meter: CpuMeter, prompt: str, streams: int) -> int:
    meter.start()
    records = await run_streams(lambda _i: endpoint.stream(prompt), streams, streams, endpoint.name)
    meter.stop()
    assert not failures(records), failures(records)[:5]
    return sum(r.tokens for r in records)


def test_cpu_per_relayed_token(
    benchmark: BenchmarkFixture,
    mock: Endpoint,
    service: Endpoint,
    naive: Endpoint,
    nginx: Endpoint | None,
    report: Report,
    quick: bool,
) -> None:
    streams, tokens = (20, 10) if quick else (200, 50)
    prompt = directive(ttft_ms=50, itl_ms=20, tokens=tokens) + " Tell me a story."
    assert mock.pid and service.pid and naive.pid
    relays = [relay for relay in (service, naive, nginx) if relay is not None]

    def run() -> dict[str, float]:
        us_per_token: dict[str, float] = {}
        for relay in relays:
            meter = CpuMeter({relay.name: relay.pid or 0})
            relayed = asyncio.run(_measure(relay, meter, prompt, streams))
            assert meter.spent is not None
            us_per_token[relay.name] = meter.spent[relay.name] / relayed * 1e6
        meter = CpuMeter({"mock": mock.pid or 0})
        sent = asyncio.run(_measure(mock, meter, prompt, streams))
        assert meter.spent is not None
        us_per_token["mock"] = meter.spent["mock"] / sent * 1e6
        return us_per_token

    us = benchmark.pedantic(run, rounds=1, iterations=1)
    # psutil's CPU times tick in 10 ms steps: a quick run may measure 0 for a lightly loaded server.
    ratio = us["service"] / us["naive"] if us["naive"] else float("nan")
    benchmark.extra_info.update(us_per_token=us, service_to_naive=ratio)
    label = f"CPU per token ({streams}x{tokens})"
    report.add(label, "service", us["service"], "µs/token")
    report.add(label, "naive relay", us["naive"], "µs/token")
    report.add(label, "mock", us["mock"], "µs/token")
    report.add(label, "service / naive", ratio, "x", "<= 0.25", ratio <= 0.25)
    if "nginx" in us:
        report.add(label, "nginx passthrough", us["nginx"], "µs/token")
        to_nginx = us["service"] / us["nginx"] if us["nginx"] else float("nan")
        report.add(label, "service / nginx", to_nginx, "x", "<= 1.5", to_nginx <= 1.5)
    mock_rate = 1e6 / us["mock"] if us["mock"] else float("inf")
    report.add(
        label, "mock tokens per CPU-second", mock_rate, "tok/s", ">= 40,000", mock_rate >= 40_000
    )


UPSTREAM_APIS = ("chat", "responses", "anthropic")


def test_cpu_per_relayed_token_by_upstream_api(
    benchmark: BenchmarkFixture, mock: Endpoint, report: Report, quick: bool
) -> None:
    """The same load through a service per upstream dialect, in alternating rounds: what each
    dialect's decoding costs the relay (Responses and Anthropic send more events per token)."""
    streams, tokens = (20, 10) if quick else (200, 50)
    rounds = 1 if quick else 3
    prompt = directive(ttft_ms=50, itl_ms=20, tokens=tokens) + " Tell me a story."

    def run() -> dict[str, float]:
        spent = dict.fromkeys(UPSTREAM_APIS, 0.0)
        relayed = dict.fromkeys(UPSTREAM_APIS, 0)
        with contextlib.ExitStack() as stack:
            services = {api: stack.enter_context(serve_service(mock, api)) for api in UPSTREAM_APIS}
            for _ in range(rounds):
                for api, service in services.items():
                    meter = CpuMeter({api: service.pid or 0})
                    relayed[api] += asyncio.run(_measure(service, meter, prompt, streams))
                    assert meter.spent is not None
                    spent[api] += meter.spent[api]
        return {api: spent[api] / relayed[api] * 1e6 for api in UPSTREAM_APIS}

    us = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(us_per_token=us)
    label = f"CPU per relayed token by upstream API ({streams}x{tokens}, {rounds} rounds)"
    for api in UPSTREAM_APIS:
        report.add(label, f"service <- {api}", us[api], "µs/token")
    for api in UPSTREAM_APIS[1:]:
        ratio = us[api] / us["chat"] if us["chat"] else float("nan")
        report.add(label, f"{api} / chat", ratio, "x")
