"""Point the latency probes at any OpenAI-compatible endpoint: real OpenAI, vLLM, the mock.

    python -m benchmarks.probe --base-url https://api.openai.com/v1 --model gpt-4o-mini \\
        --streams 20 --concurrency 5          (the key from OPENAI_API_KEY or --api-key)

Prints TTFT, ITL, TPOT and E2E percentiles (vLLM's definitions) from raw per-stream samples.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import asdict

from benchmarks.load import run_streams
from ghoststream.harness.client import api_request, timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.stats import Summary, summarize
from ghoststream.protocols import DIALECTS


async def probe(
    base_url: str,
    api_key: str | None,
    model: str,
    prompt: str,
    streams: int,
    concurrency: int,
    max_tokens: int | None = None,
    api: str = "chat",
) -> tuple[Summary, list[StreamRecord]]:
    request = api_request(api, base_url, prompt, model, api_key, max_tokens)

    async def one(_i: int) -> StreamRecord:
        return await timed_stream(
            request.url, request.body, dialect=request.dialect, headers=request.headers
        )

    records = await run_streams(one, streams, concurrency, "probe")
    return summarize(records), records


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


def main() -> None:
    parser = argparse.ArgumentParser(description="Latency probe for LLM streaming APIs.")
    parser.add_argument("--api", choices=sorted(DIALECTS), default="chat", help="the API's dialect")
    parser.add_argument(
        "--base-url",
        required=True,
        help="as the API's SDK takes it: https://api.openai.com/v1, https://api.anthropic.com",
    )
    parser.add_argument("--api-key", default=None, help="default: OPENAI_ or ANTHROPIC_API_KEY")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--prompt", default="Write three sentences about rivers.")
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=None)
    args = parser.parse_args()
    key_variable = "ANTHROPIC_API_KEY" if args.api == "anthropic" else "OPENAI_API_KEY"
    summary, records = asyncio.run(
        probe(
            args.base_url,
            args.api_key or os.environ.get(key_variable),
            args.model,
            args.prompt,
            args.streams,
            args.concurrency,
            args.max_tokens,
            args.api,
        )
    )
    print(format_summary(summary))
    failed = [record for record in records if not record.ok]
    for record in failed:
        print(f"failed: status {record.status} {record.transport_error or record.terminal_data}")
    if failed or not summary.output_tokens:
        raise SystemExit(1)  # a run that streamed nothing is a failure, not a table of NaNs


if __name__ == "__main__":
    main()
