"""`python -m mock_llm` (installed: `ghoststream-mock`): serve the mock LLM APIs;
`python -m mock_llm record ...`: record a real endpoint's answer for the mock to replay."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from ghoststream import http_guard
from ghoststream.gc_tuning import tune_for_many_streams

from .app import create_app
from .config import MockConfig
from .controls import CONTROLS
from .embedded import quiet_dropped_connections
from .profiles import PROFILES
from .recorder import main as record


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = MockConfig()
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--profile", choices=sorted(PROFILES), default=None)
    chosen, _ = chooser.parse_known_args(argv)
    parser = argparse.ArgumentParser(
        prog="ghoststream-mock",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on")
    parser.add_argument("--fd", type=int, default=None, help="serve on an inherited socket")
    for control in CONTROLS.values():
        if control.server_wide:
            parser.add_argument(
                control.flag,
                type=float if control.kind == "number" else int,
                default=getattr(defaults, control.name),
                help=control.help,
            )
    parser.add_argument("--model", default=defaults.model, help="the model /v1/models lists")
    parser.add_argument("--api-key", default=None, help="require this key on the API routes")
    parser.add_argument("--scenarios", default=None, help="YAML or JSON scenario file")
    parser.add_argument(
        "--max-concurrency", type=int, default=None, help="answer 429 beyond this many open streams"
    )
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute, enforced")
    parser.add_argument("--tpm", type=int, default=None, help="tokens per minute, enforced")
    parser.add_argument(
        "--max-num-seqs", type=int, default=None, help="streams generating at once; others queue"
    )
    parser.add_argument(
        "--max-queue", type=int, default=None, help="streams that may wait; beyond it a 503"
    )
    parser.add_argument(
        "--prefix-cache",
        action="store_true",
        help="leave a recently seen prompt prefix (whole 16-token blocks) out of the prefill",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="a serving engine's parameters (README); other flags still win",
    )
    if chosen.profile is not None:  # defaults only: a flag on the command line still wins
        parser.set_defaults(**PROFILES[chosen.profile].defaults())
    http_guard.add_arguments(parser)
    parser.add_argument("--log-level", default="info", help="uvicorn's log level")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> MockConfig:
    schedule = {c.name: getattr(args, c.name) for c in CONTROLS.values() if c.server_wide}
    return MockConfig(
        **schedule,
        model=args.model,
        api_key=args.api_key,
        scenarios_path=args.scenarios,
        max_concurrency=args.max_concurrency,
        rpm=args.rpm,
        tpm=args.tpm,
        max_num_seqs=args.max_num_seqs,
        max_queue=args.max_queue,
        prefix_cache=args.prefix_cache,
    )


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["record"]:  # a subcommand; any other first argument is a serving flag
        raise SystemExit(record(argv[1:]))
    args = parse_args(argv)
    quiet_dropped_connections()
    guard = http_guard.ConnectionGuard(http_guard.limits_from(args))
    app = create_app(config_from(args), guard)
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
        **guard.uvicorn_options(),
    )


if __name__ == "__main__":
    main()
