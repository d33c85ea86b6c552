"""The HTTP/1.1 layer's own defences, for the service and the mock alike.

uvicorn's httptools protocol has no cap on a request head (llhttp parses any size, and the
cost of one huge header grows faster than linearly) and no timer on a connection until its first
response is done, so a client that never finishes a request holds a socket forever. This
subclass adds, before any parsing that costs more than linear time:

- a cap on the request head's bytes and on its header count: 431, then the connection closes;
- a timer from a connection's opening to its first byte (`idle_timeout_s`, uvicorn's keep-alive
  timeout reuses it between requests), from a request's first byte to the end of its head
  (`header_timeout_s`: 408) and from there to the end of its body (`body_timeout_s`: 408);
- a cap on open connections per client address: 429 before the request is read.

Nothing here runs while a response is being written: bytes that arrive meanwhile (a pipelined
request, a stray line end) start their timers only once it ends, so a stream, however long, is
never touched. Every closing is logged and counted by reason (`ConnectionGuard.closed`), for
the apps' metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

import orjson
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("ghoststream.http")
Phase = Literal["idle", "head", "body", "received", "refused"]
LINGER_S = 2.0
"""After a refusal, how long a client's further bytes are read and dropped before closing."""

REASONS = {
    "header_too_large": (431, "The request head is over {max_header_bytes} bytes."),
    "too_many_headers": (431, "The request has over {max_headers} headers."),
    "header_timeout": (408, "The request head took over {header_timeout_s} s to arrive."),
    "body_timeout": (408, "The request body took over {body_timeout_s} s to arrive."),
    "too_many_connections": (
        429,
        "Over {max_connections_per_client} open connections from this address.",
    ),
    "idle": (0, "The connection sent no request for {idle_timeout_s} s."),
}
"""Why a connection was closed: the status it is told (0: none, it just closes) and why."""
STATUS_TEXT = {
    408: b"Request Timeout",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
}


def _limit(default: float, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = _limit(32 * 1024, "the request head's bytes, at most (431 beyond)")
    max_headers: int = _limit(100, "request headers, at most (431 beyond)")
    header_timeout_s: float = _limit(10.0, "from a request's first byte to its head's end (408)")
    body_timeout_s: float = _limit(30.0, "from a request's head to its body's end (408)")
    idle_timeout_s: float = _limit(5.0, "a connection with no request in flight is closed")
    max_connections_per_client: int = _limit(
        0, "open connections per client address, at most (429 beyond; 0: no cap)"
    )

    def message(self, reason: str) -> str:
        return REASONS[reason][1].format(**self.__dict__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every limit as a CLI flag (`--max-header-bytes`, ...), defaults from HttpLimits."""
    for limit in fields(HttpLimits):
        parser.add_argument(
            "--" + limit.name.replace("_", "-"),
            type=float if limit.type == "float" else int,
            default=limit.default,
            help=limit.metadata["help"],
        )


def limits_from(args: argparse.Namespace) -> HttpLimits:
    return HttpLimits(**{limit.name: getattr(args, limit.name) for limit in fields(HttpLimits)})


@dataclass
class ConnectionGuard:
    """The limits, the open connections per address, and what was closed, by reason."""

    limits: HttpLimits = field(default_factory=HttpLimits)
    per_address: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)
    on_close: Callable[[str], None] | None = None
    """Told each closing's reason too: a metric that must add up across worker processes."""

    def collector(self, prefix: str) -> Collector:
        """`<prefix>_connections_closed_total{reason}` for a Prometheus registry, read at
        scrape time."""
        return _ClosedCollector(self, prefix)

    def uvicorn_options(self) -> dict[str, Any]:
        """The `uvicorn.run` / `uvicorn.Config` keyword arguments that put the guard in place."""
        protocol = type("GuardedHttp", (GuardedHttpProtocol,), {"guard": self})
        return {"http": protocol, "timeout_keep_alive": self.limits.idle_timeout_s}


class _ClosedCollector(Collector):
    def __init__(self, guard: ConnectionGuard, prefix: str) -> None:
        self.guard = guard
        self.prefix = prefix

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            f"{self.prefix}_connections_closed",
            "Connections closed by the HTTP layer's limits, by reason.",
            labels=["reason"],
        )
        for reason in REASONS:
            family.add_metric([reason], self.guard.closed[reason])
        yield family


def refusal(status: int, code: str, message: str) -> bytes:
    """A whole HTTP response that closes the connection; the body is both the service's error
    shape and OpenAI's, so either kind of client reads it."""
    body = orjson.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "type": "invalid_request_error",
                "param": None,
            }
        }
    )
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, STATUS_TEXT[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedHttpProtocol(HttpToolsProtocol):
    guard: ClassVar[ConnectionGuard]

    _address = ""
    _phase: Phase = "idle"
    _head_bytes = 0
    _headers = 0
    _timer: asyncio.TimerHandle | None = None
    _pending: tuple[float, str] | None = None
    """A timer for a request that arrived while a response is being written: it starts when
    that response ends, so a stream is never cut by the timers of what follows it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else ""
        guard = self.guard
        guard.per_address[self._address] += 1
        cap = guard.limits.max_connections_per_client
        if cap and guard.per_address[self._address] > cap:
            self._close("too_many_connections")
            return
        self._arm(guard.limits.idle_timeout_s, "idle")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        per_address = self.guard.per_address
        per_address[self._address] -= 1
        if per_address[self._address] <= 0:
            del per_address[self._address]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._finished:
            return  # lingering after a refusal: what arrives is dropped unparsed
        limits = self.guard.limits
        if self._phase in ("idle", "received"):  # the first bytes of a request
            self._phase = "head"
            self._head_bytes = self._headers = 0
            self._arm(limits.header_timeout_s, "header_timeout")
        if self._phase == "head":
            room = limits.max_header_bytes - self._head_bytes
            if len(data) > room:  # parse no further than the cap, then see if the head ended
                super().data_received(data[:room])
                if self._phase == "head":
                    self._close("header_too_large")
                    return
                if self._finished:
                    return
                data = data[room:]
            else:
                self._head_bytes += len(data)
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._finished:  # not after a refusal of ours
            self._disarm()
            super().send_400_response(msg)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        if self._headers > self.guard.limits.max_headers:
            self._close("too_many_headers")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._finished:
            return
        self._phase = "body"
        self._arm(self.guard.limits.body_timeout_s, "body_timeout")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._finished:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._finished:
            return
        self._phase = "received"  # the answer is the app's; uvicorn's keep-alive timer follows it
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._pending is not None and not self._finished:
            delay, reason = self._pending
            self._arm(delay, reason)

    def _arm(self, delay: float, reason: str) -> None:
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self._pending = (delay, reason)
            return
        self._timer = self.loop.call_later(delay, self._close, reason)

    def _disarm(self) -> None:
        self._pending = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def _finished(self) -> bool:
        return self._phase == "refused" or self.transport.is_closing()

    def _close(self, reason: str) -> None:
        """Tell the client why (unless its response has begun), count it, close."""
        self._disarm()
        if self._finished:
            return
        limits = self.guard.limits
        self.guard.closed[reason] += 1
        if self.guard.on_close is not None:
            self.guard.on_close(reason)
        status, _ = REASONS[reason]
        message = limits.message(reason)
        log.log(
            logging.INFO if reason == "idle" else logging.WARNING,
            "closed a connection from %s: %s",
            self._address,
            message,
            extra={"code": reason, "client": self._address},
        )
        if self.cycle is not None:  # the app, if one runs, sees its client gone
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not status or (self.cycle is not None and self.cycle.response_started):
            self.transport.close()
            return
        # Lingering close: answer, end our side, and discard what the client still sends for
        # a moment. Closing at once with unread bytes would reset the connection, and the reset
        # destroys the answer in the client's buffers before it reads it.
        self._phase = "refused"
        self.transport.write(refusal(status, reason, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._timer = self.loop.call_later(LINGER_S, self.transport.close)
