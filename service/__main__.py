"""`python -m service`: run the streaming service (from the repo; it is not in the wheel)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

import uvicorn

from service import logs
from service.settings import Settings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m service",
        description=__doc__,
        epilog="Everything else is set by environment variables (README: Configuration).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--fd", type=int, default=None, help="serve on an inherited socket")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the socket")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    if args.fd is None:
        sys.stderr.write(
            f"ghoststream: open http://{args.host}:{args.port}/ "
            f"(upstream: {settings.upstream_shown}, workers: {args.workers})\n"
        )
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Every worker writes its metrics here and /metrics sums them, whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ghoststream-metrics-")
    uvicorn.run(
        "service.serving:build",
        factory=True,
        workers=args.workers,
        http="service.serving:ServiceHttp",
        timeout_keep_alive=settings.keepalive_timeout_s,  # type: ignore[arg-type]  # any number
        host=args.host,
        port=args.port,
        fd=args.fd,
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # ours, from service.logs
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        backlog=4096,
        # Client addresses from X-Forwarded-For only when the peer is a proxy of ours.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


if __name__ == "__main__":
    main()
