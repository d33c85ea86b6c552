"""`python -m mock_llm` (or `mock-llm`): serve the mock OpenAI-compatible API."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from mock_llm.app import create_app
from mock_llm.config import MockConfig
from mock_llm.gc_tuning import tune_for_many_streams
from mock_llm.streaming import DropConnection


class _HideDroppedConnections(logging.Filter):
    """`drop_midstream` closes connections by raising; that is the fault working, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


def quiet_dropped_connections() -> None:
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = MockConfig()
    parser = argparse.ArgumentParser(prog="mock-llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--fd", type=int, default=None, help="serve on an inherited socket")
    parser.add_argument("--ttft-ms", type=float, default=defaults.ttft_ms)
    parser.add_argument("--itl-ms", type=float, default=defaults.itl_ms)
    parser.add_argument("--tokens", type=int, default=defaults.tokens)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--jitter-ms", type=float, default=defaults.jitter_ms)
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--api-key", default=None, help="require this bearer key on /v1/*")
    parser.add_argument("--scenarios", default=None, help="YAML or JSON scenario file")
    parser.add_argument(
        "--max-concurrency", type=int, default=None, help="answer 429 beyond this many open streams"
    )
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = MockConfig(
        ttft_ms=args.ttft_ms,
        itl_ms=args.itl_ms,
        tokens=args.tokens,
        seed=args.seed,
        jitter_ms=args.jitter_ms,
        model=args.model,
        api_key=args.api_key,
        scenarios_path=args.scenarios,
        max_concurrency=args.max_concurrency,
    )
    quiet_dropped_connections()
    app = create_app(config)
    tune_for_many_streams()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        fd=args.fd,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        timeout_graceful_shutdown=1,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
