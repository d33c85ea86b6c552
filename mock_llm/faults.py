"""Every fault the mock can inject: declared, and triggered, here.

A fault is asked for per request (`fault=NAME`, `X-Mock-Fault`, a scenario). HTTP faults answer
the request with an error status in the dialect's own error shape; midstream faults end a
stream after `fault_after` tokens, each the way that dialect's real server ends one (its error
event, a cut connection, silence, a truncated event); `slow_headers` holds the response headers
back for the TTFT. The bytes of each dialect's error event live with the dialect
(`ghoststream.protocols`); when and how a fault strikes lives here.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from ghoststream.asgi import Send, send_json
from ghoststream.protocols.dialect import Dialect, StreamWriter

Kind = Literal["http", "midstream", "headers"]
MAX_HEADER_DELAY_S = 3600.0
SERVER_ERROR_MESSAGE = "The server had an error while processing your request."


class DropConnection(Exception):
    """Raised to make the server close the TCP connection mid-body, with no terminator."""


@dataclass(frozen=True)
class Fault:
    name: str
    kind: Kind
    gets: str
    """What the client gets (the README's table)."""
    outcome: str
    """The ledger outcome it leaves."""
    status: int = 0


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "http_429",
            "http",
            "429 rate-limit error body; `retry-after` (seconds, rounded up), `retry-after-ms`, "
            "rate-limit headers",
            "fault",
            429,
        ),
        Fault("http_500", "http", "500 server error body", "fault", 500),
        Fault("http_503", "http", "503 overloaded server error body", "fault", 503),
        Fault("http_529", "http", "529 overloaded (Anthropic's `overloaded_error`)", "fault", 529),
        Fault(
            "error_midstream",
            "midstream",
            "after K tokens the dialect's error event, then the body ends (no finish, no end "
            "marker)",
            "fault",
        ),
        Fault(
            "drop_midstream",
            "midstream",
            "after K tokens the connection is closed mid-body: no terminator at all",
            "fault",
        ),
        Fault(
            "malformed_midstream",
            "midstream",
            "after K tokens an event of truncated JSON, then the body ends",
            "fault",
        ),
        Fault(
            "stall_midstream",
            "midstream",
            "after K tokens nothing more, ever, until the client leaves",
            "cancelled",
        ),
        Fault(
            "slow_headers",
            "headers",
            "the response headers themselves wait for the TTFT; tokens follow on schedule",
            "completed",
        ),
    )
}


@dataclass
class FaultTally:
    """How often each request has asked for its fault, so that a fault can strike only the first
    `fault_times` identical requests (a client's retries then succeed, as against a real
    provider that fails a few times) or a seeded share `fault_rate` of them (load runs).

    Identical means the same route and body bytes: an SDK's retry sends both unchanged."""

    capacity: int = 10_000
    seen: OrderedDict[bytes, int] = field(default_factory=OrderedDict)

    def strikes(self, request_key: bytes, times: int | None, rate: float, seed: int) -> bool:
        occurrence = self.seen.pop(request_key, 0)
        self.seen[request_key] = occurrence + 1
        if len(self.seen) > self.capacity:
            self.seen.popitem(last=False)
        if times is not None and occurrence >= times:
            return False
        if rate >= 1:
            return True
        material = b"%d:%d:" % (seed, occurrence) + request_key
        draw = int.from_bytes(hashlib.sha256(material).digest()[:8], "big") / 2**64
        return draw < rate

    def clear(self) -> None:
        self.seen.clear()


def request_key(path: str, body: bytes) -> bytes:
    return hashlib.sha256(path.encode() + b"\0" + body).digest()


def is_http(fault: str | None) -> bool:
    return fault is not None and FAULTS[fault].kind == "http"


def strikes_midstream(fault: str | None) -> bool:
    return fault is not None and FAULTS[fault].kind == "midstream"


def retry_after_headers(
    after_ms: int, budget: list[tuple[bytes, bytes]] | None = None
) -> list[tuple[bytes, bytes]]:
    """The wait, and the rate-limit state: the configured budget's (`rate_limits`), else a
    spent one of 500 requests, as a provider's 429 says."""
    state = budget or [
        (b"x-ratelimit-limit-requests", b"500"),
        (b"x-ratelimit-remaining-requests", b"0"),
    ]
    return [
        (b"retry-after", str(math.ceil(after_ms / 1000)).encode()),
        (b"retry-after-ms", str(after_ms).encode()),
        *state,
    ]


async def answer_http(
    send: Send,
    dialect: Dialect,
    fault: str,
    retry_after_ms: int,
    headers: list[tuple[bytes, bytes]],
    budget: list[tuple[bytes, bytes]],
) -> None:
    """Answer with the HTTP fault's status, in the dialect's error shape."""
    status = FAULTS[fault].status
    if status == 429:
        headers = headers + retry_after_headers(retry_after_ms, budget)
    else:
        headers = headers + budget
    await send_json(send, status, dialect.error_body(status), headers)


async def header_delay(fault: str | None, ttft_ms: float) -> None:
    if fault == "slow_headers":
        await asyncio.sleep(min(ttft_ms / 1000, MAX_HEADER_DELAY_S))


async def end_midstream(fault: str, send: Send, writer: StreamWriter, pending: bytes) -> None:
    """End a stream the way `fault` says; `pending` is what was written but not yet sent.

    Returns once the body has ended; `stall_midstream` never returns (the stream is cancelled
    when its client leaves), and `drop_midstream` raises DropConnection.
    """
    if fault == "error_midstream":
        frame = writer.error_event(SERVER_ERROR_MESSAGE)
    elif fault == "malformed_midstream":
        frame = writer.malformed()
    elif fault == "drop_midstream":
        if pending:
            await send({"type": "http.response.body", "body": pending, "more_body": True})
        raise DropConnection()
    elif fault == "stall_midstream":
        if pending:
            await send({"type": "http.response.body", "body": pending, "more_body": True})
        await asyncio.Event().wait()  # until the client gives up and the watcher cancels
        return
    else:
        raise ValueError(f"{fault} is not a midstream fault")
    await send({"type": "http.response.body", "body": pending + frame, "more_body": False})
