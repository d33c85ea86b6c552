"""`python -m own_service --upstream URL`: serve the example, so the README's probe and Locust
commands have a service to point at."""

from __future__ import annotations

import argparse

import uvicorn

from own_service.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m own_service", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--upstream", default="http://127.0.0.1:8001/v1", help="an OpenAI-compatible /v1 URL"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    args = parser.parse_args()
    uvicorn.run(create_app(args.upstream), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
