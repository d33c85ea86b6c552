"""`ghoststream-probe`: point the latency probe at any streaming endpoint: an LLM API (real
OpenAI, vLLM, the mock) or your own service in any registered stream format.

    ghoststream-probe --base-url https://api.openai.com/v1 --model gpt-4o-mini --streams 20
    ghoststream-probe --url http://127.0.0.1:8000/chat --format mine \\
        --body '{"q": "{prompt}"}' --rate 5 --slo-ttft-ms 500 --slo-itl-ms 50 --json

Prints TTFT, ITL, TPOT and E2E percentiles (vLLM's definitions) and goodput (requests per second
that met the SLOs, as `vllm bench serve --goodput` counts them); exits 1 when a stream failed,
none streamed, or the SLOs were missed by more than `--slo-miss-share` of the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import random
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any

from ghoststream.harness.client import api_request, timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.stats import Summary, summarize
from ghoststream.protocols import DIALECTS, FORMATS

OpenStream = Callable[[int], Awaitable[StreamRecord]]


async def run(
    one: OpenStream, streams: int, concurrency: int | None = None, rate: float | None = None
) -> list[StreamRecord]:
    """`streams` streams: at most `concurrency` at a time (closed loop), or arriving as a
    Poisson process of `rate` per second (open loop: a slow server does not slow the arrivals)."""
    if rate is not None:

        async def arriving(i: int, delay: float) -> StreamRecord:
            await asyncio.sleep(delay)
            return await one(i)

        delays, at = [], 0.0
        for _ in range(streams):
            delays.append(at)
            at += random.expovariate(rate)
        return list(await asyncio.gather(*(arriving(i, d) for i, d in enumerate(delays))))
    limit = asyncio.Semaphore(concurrency or 1)

    async def limited(i: int) -> StreamRecord:
        async with limit:
            return await one(i)

    return list(await asyncio.gather(*(limited(i) for i in range(streams))))


async def probe(
    base_url: str,
    api_key: str | None,
    model: str,
    prompt: str,
    streams: int,
    concurrency: int,
    max_tokens: int | None = None,
    api: str = "chat",
    rate: float | None = None,
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
) -> tuple[Summary, list[StreamRecord]]:
    """Probe an LLM API in its own dialect, as its SDK would call it at `base_url`."""
    request = api_request(api, base_url, prompt, model, api_key, max_tokens)
    return await probe_url(
        request.url, request.dialect, request.body, streams, concurrency, request.headers,
        rate, ttft_slo_s, tpot_slo_s,
    )  # fmt: skip


async def probe_url(
    url: str,
    stream_format: str,
    body: Any | None,
    streams: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
    rate: float | None = None,
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
) -> tuple[Summary, list[StreamRecord]]:
    """Probe your own streaming route: POST `body` (GET without one), read as `stream_format`;
    goodput counts the streams within the SLOs given."""

    async def one(_i: int) -> StreamRecord:
        method = "POST" if body is not None else "GET"
        return await timed_stream(url, body, method=method, dialect=stream_format, headers=headers)

    records = await run(one, streams, concurrency, rate)
    return summarize(records, ttft_slo_s, tpot_slo_s), records


def format_summary(summary: Summary) -> str:
    lines = [
        f"streams {summary.streams}, failed {summary.failed}, "
        f"output tokens {summary.output_tokens} ({summary.output_tokens_per_s:,.1f}/s)",
        "metric  count      mean       p50       p90       p99     p99.9  (ms)",
    ]
    for name in ("ttft", "itl", "tpot", "e2e"):
        d = asdict(summary)[name]
        lines.append(
            f"{name.upper():<6} {d['count']:>6} {d['mean']:>9.2f} {d['p50']:>9.2f} "
            f"{d['p90']:>9.2f} {d['p99']:>9.2f} {d['p999']:>9.2f}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ghoststream-probe",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--base-url", help="an LLM API as its SDK takes it: https://api.openai.com/v1"
    )
    target.add_argument("--url", help="your own streaming route (with --format and --body)")
    parser.add_argument("--api", choices=sorted(DIALECTS), default="chat", help="with --base-url")
    parser.add_argument("--format", default="ghoststream", help="with --url: a stream format")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        help="a module to import first, e.g. one that calls register_format (repeatable)",
    )
    parser.add_argument("--body", default=None, help="with --url: JSON; {prompt} is replaced")
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE (repeatable)")
    parser.add_argument("--api-key", default=None, help="default: OPENAI_ or ANTHROPIC_API_KEY")
    parser.add_argument("--model", default="gpt-4o-mini", help="with --base-url")
    parser.add_argument(
        "--prompt", default="Write three sentences about rivers.", help="what every stream asks"
    )
    parser.add_argument("--max-tokens", type=int, default=None, help="with --base-url: a cap")
    parser.add_argument("--streams", type=int, default=20, help="streams in all")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--concurrency", type=int, default=5, help="streams open at once")
    load.add_argument("--rate", type=float, default=None, help="Poisson arrivals per second")
    parser.add_argument("--slo-ttft-ms", type=float, default=None, help="per request")
    parser.add_argument(
        "--slo-itl-ms", type=float, default=None, help="per request, on its TPOT (vLLM's goodput)"
    )
    parser.add_argument(
        "--slo-miss-share",
        type=float,
        default=0.0,
        help="the share of requests that may miss the SLOs before the exit status is 1",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    for module in args.plugin:
        importlib.import_module(module)
    ttft_slo = args.slo_ttft_ms / 1000 if args.slo_ttft_ms is not None else None
    tpot_slo = args.slo_itl_ms / 1000 if args.slo_itl_ms is not None else None
    if args.url is not None:
        if args.format not in FORMATS:
            sys.exit(f"unknown --format {args.format!r}; known: {', '.join(FORMATS)}")
        body = None
        if args.body is not None:
            body = json.loads(args.body.replace("{prompt}", json.dumps(args.prompt)[1:-1]))
        headers = dict(h.split(":", 1) for h in args.header)
        run_it = probe_url(
            args.url, args.format, body, args.streams, args.concurrency, headers, args.rate,
            ttft_slo, tpot_slo,
        )  # fmt: skip
    else:
        key_variable = "ANTHROPIC_API_KEY" if args.api == "anthropic" else "OPENAI_API_KEY"
        key = args.api_key or os.environ.get(key_variable)
        run_it = probe(
            args.base_url, key, args.model, args.prompt, args.streams, args.concurrency,
            args.max_tokens, args.api, args.rate, ttft_slo, tpot_slo,
        )  # fmt: skip
    summary, records = asyncio.run(run_it)
    good = summary.met_slo
    failed = [r for r in records if not r.ok]
    missed = len(records) - len(failed) - good
    report = {
        **asdict(summary),
        "missed_slo": missed,
        "failures": [f"status {r.status} {r.transport_error or r.terminal_data}" for r in failed],
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(format_summary(summary))
        print(
            f"goodput {report['goodput_per_s']:.2f} req/s ({good} of {len(records)} met the SLOs)"
        )
        for line in report["failures"]:
            print(f"failed: {line}")
    too_many_missed = missed > args.slo_miss_share * len(records)
    if failed or not summary.output_tokens or too_many_missed:
        raise SystemExit(1)  # a run that streamed nothing is a failure, not a table of NaNs


if __name__ == "__main__":
    main()
