"""The Locust users' transport: one HTTP/1.1 request, its body read as it arrives, every read
stamped and fed to the shared recorder (`ghoststream.harness.records`).

Plain sockets and httptools' C parser, no Locust and no gevent in here: under Locust, gevent has
patched `socket`, so each `recv` yields to the other users while it waits; in a test it is an
ordinary blocking client. `recv` returns whatever bytes have arrived, so a token event is stamped
when it lands. Locust's FastHttpUser is not used for the body because its `iter_content` and
`iter_lines` read fixed 1 KiB blocks (`read(1024)` waits for the whole KiB), which bunches about
twenty token events into one read and stamps them all late.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httptools

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.harness.request import wire_request
from ghoststream.harness.response import ResponseReader

Clock = Callable[[], float]
READ_SIZE = 65536


@dataclass(frozen=True)
class StreamRequest:
    """What to send. `body` is sent as JSON bytes; `timeout_s` bounds the whole stream."""

    url: str
    method: str = "GET"
    params: Mapping[str, str] | None = None
    body: bytes | None = None
    dialect: str = "ghoststream"
    headers: Mapping[str, str] = field(default_factory=dict)
    abort_after_tokens: int | None = None
    timeout_s: float = 60.0

    def wire(self) -> tuple[str, int, bytes]:
        """(host, port, request bytes)."""
        request = wire_request(self.method, self.url, self.body, self.headers, self.params)
        if request.secure:
            raise ValueError(f"only http:// targets are supported, got {self.url!r}")
        return request.host, request.port, request.data


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A connected socket. An address given as an IP literal is not looked up: under gevent,
    `create_connection` resolves every name in a thread pool, a cost paid per stream."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return socket.create_connection((host, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def read_stream(
    request: StreamRequest,
    record: StreamRecord,
    *,
    on_first_token: Callable[[StreamRecord], None] | None = None,
    clock: Clock = time.perf_counter,
) -> StreamRecord:
    """Send `request` and fill `record` (the caller's, so it survives the caller being killed).

    Ends at the terminal event, the body's end, an abort after `abort_after_tokens` (the
    connection is closed, as a browser tab does), or `timeout_s` after `record.started_at`,
    which is recorded as a transport error so that nothing hangs.
    """
    recorder = StreamRecorder(record, request.dialect)
    response = ResponseReader(recorder)
    deadline = record.started_at + request.timeout_s
    host, port, payload = request.wire()
    try:
        sock = connect(host, port, max(0.001, deadline - clock()))
    except OSError as error:
        record.transport_error = f"connect failed: {error.strerror or error}"
        return recorder.finish(clock())
    # One deadline for the whole stream, not a timeout per read: under gevent a socket timeout
    # starts a timer for every wait, a cost paid per token. At the deadline the socket is shut
    # down, which ends the blocked `recv`; `expired` tells that from the server closing.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(max(0.0, deadline - clock()), expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(payload)
        while not (response.terminal or response.complete):
            data = sock.recv(READ_SIZE)
            now = clock()
            if expired.is_set():
                raise TimeoutError
            if not data:
                if not response.complete:
                    record.transport_error = "connection closed before the stream ended"
                break
            tokens_before = record.tokens
            response.feed(data, now)
            if tokens_before == 0 and record.tokens and on_first_token is not None:
                on_first_token(record)
            limit = request.abort_after_tokens
            if limit is not None and record.tokens >= limit and not response.terminal:
                record.aborted = True
                record.aborted_at_wall = time.time()
                break
    except TimeoutError:
        record.transport_error = f"no end after {request.timeout_s:g} s"
    except httptools.HttpParserError as error:
        # A callback's own error (event data that is not the JSON the dialect promises) is
        # re-raised by httptools as HttpParserCallbackError with the original as its context.
        cause = error.__context__
        record.transport_error = f"unreadable event: {cause}" if cause else f"bad response: {error}"
    except OSError as error:
        if expired.is_set():
            record.transport_error = f"no end after {request.timeout_s:g} s"
        else:
            record.transport_error = f"{type(error).__name__}: {error.strerror or error}"
    finally:
        watchdog.cancel()
        sock.close()
    return recorder.finish(clock(), body_complete=response.complete)
