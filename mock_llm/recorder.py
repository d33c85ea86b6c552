"""`python -m mock_llm record`: send one streamed request to a real endpoint and write what came
back, scrubbed, as a scenario the mock replays byte for byte on the recorded schedule.

    python -m mock_llm record --target https://api.openai.com/v1 --api chat \\
        --prompt "Say hello" --model gpt-4o-mini --out hello.yaml

It speaks HTTP/1.1 itself over an asyncio protocol with httptools (as the harness's timing
client does) because a general-purpose client re-chunks the body: here each `data_received`
is one read off the socket, stamped on arrival. Offsets count from the moment the request was
written (after connecting), the closest a client gets to the server's receiving it. The key
goes into the request only: it is never written, nor is any header outside
`mock_llm.recording`'s allowlist.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httptools
import orjson
import yaml

from ghoststream.harness.client import api_request
from ghoststream.harness.request import wire_request
from ghoststream.protocols import DIALECTS

from .recording import Chunk, Recording, scrub, to_document

KEY_VARIABLES = {"anthropic": "ANTHROPIC_API_KEY"}
"""Where the key comes from unless `--api-key`; every other API reads OPENAI_API_KEY."""


class _Capture(asyncio.Protocol):
    """Each read's body bytes, stamped; the status and headers; `done` when the body ends."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.started = 0.0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_ms = 0.0
        self.chunks: list[Chunk] = []
        self.complete = False
        self._read = bytearray()
        self._now_ms = 0.0

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_ms = self._now_ms

    def on_body(self, body: bytes) -> None:
        self._read += body

    def on_message_complete(self) -> None:
        self.complete = True

    def data_received(self, data: bytes) -> None:
        self._now_ms = (time.perf_counter() - self.started) * 1000
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._finish(error)
            return
        if self._read:
            self.chunks.append(Chunk(self._now_ms, bytes(self._read)))
            self._read.clear()
        if self.complete:
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def _finish(self, error: Exception | None = None) -> None:
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


async def capture(
    api: str,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    timeout: float = 600.0,
) -> Recording:
    """POST `body` to `url` and record the response as it arrives (unscrubbed: see `scrub`)."""
    request = wire_request("POST", url, orjson.dumps(body), headers)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    protocol = _Capture(done)
    context = ssl.create_default_context() if request.secure else None
    transport, _ = await loop.create_connection(
        lambda: protocol, request.host, request.port, ssl=context
    )
    try:
        protocol.started = time.perf_counter()
        transport.write(request.data)
        await asyncio.wait_for(done, timeout)
    finally:
        transport.close()
    return Recording(
        api=api,
        status=protocol.status,
        content_type=protocol.headers.get("content-type", ""),
        chunks=tuple(protocol.chunks),
        headers=protocol.headers,
        headers_ms=protocol.headers_ms,
        complete=protocol.complete,
    )


def scenario_document(name: str, prompt: str, recording: Recording) -> dict[str, Any]:
    """A scenario file holding one scrubbed recording, matched on the prompt it answered."""
    clean = scrub(recording)
    return {"scenarios": [{"name": name, "match": prompt, "recording": to_document(clean)}]}


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types
    """Writes a multi-line string as a literal block, so each event reads as it went out."""


def _string(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None  # PyYAML quotes instead where a block cannot hold it
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _string)


def write(path: str | Path, document: dict[str, Any]) -> None:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    Path(path).write_text(text, encoding="utf-8")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ghoststream-mock record",
        description="Record one streamed answer from a real endpoint as a replayable scenario.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--target",
        required=True,
        help="the base URL the API's SDK takes (OpenAI's ends in /v1, Anthropic's does not)",
    )
    parser.add_argument("--api", choices=sorted(DIALECTS), default="chat")
    parser.add_argument("--prompt", default="Say hello in one short sentence.")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument(
        "--api-key", default=None, help="else $ANTHROPIC_API_KEY (anthropic), $OPENAI_API_KEY"
    )
    parser.add_argument("--name", default="recorded", help="the scenario's name")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the answer")
    parser.add_argument("--out", required=True, help="the scenario file to write (YAML)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    key = args.api_key or os.environ.get(KEY_VARIABLES.get(args.api, "OPENAI_API_KEY"))
    request = api_request(args.api, args.target, args.prompt, args.model, key, args.max_tokens)
    try:
        recording = asyncio.run(
            capture(args.api, request.url, request.body, request.headers, args.timeout)
        )
    except (OSError, TimeoutError, httptools.HttpParserError) as error:
        sys.stderr.write(f"{request.url}: {error or type(error).__name__}; nothing written\n")
        return 2
    if recording.status == 0:
        sys.stderr.write(f"no response from {request.url}: nothing written\n")
        return 2
    write(args.out, scenario_document(args.name, args.prompt, recording))
    sys.stderr.write(
        f"{args.out}: {recording.status} {recording.content_type}, "
        f"{len(recording.chunks)} reads over {_span_ms(recording):.0f} ms\n"
    )
    return 0 if recording.status == 200 and recording.complete else 1


def _span_ms(recording: Recording) -> float:
    return recording.chunks[-1].at_ms if recording.chunks else recording.headers_ms
