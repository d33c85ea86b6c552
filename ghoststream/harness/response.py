"""httptools callbacks for one streamed HTTP response, shared by the asyncio timing client and
the load tests' gevent reader: body bytes go to the recorder while the status is 200; any
other status keeps its body for the record."""

from __future__ import annotations

import httptools

from ghoststream.harness.records import StreamRecorder
from ghoststream.protocols.retry_after import retry_after_s

RETRY_HEADERS = frozenset({"retry-after", "retry-after-ms"})


class ResponseReader:
    def __init__(self, recorder: StreamRecorder, abort_after_tokens: int | None = None) -> None:
        self.recorder = recorder
        self.abort_after_tokens = abort_after_tokens
        self.record = recorder.record
        self.parser = httptools.HttpResponseParser(self)
        self.now = 0.0
        self.error_body = bytearray()
        self.complete = False
        """The whole response body has arrived."""
        self.terminal = False
        """The stream's terminal event has arrived; later bytes are not recorded."""
        self.limit_reached = False
        """`abort_after_tokens` tokens have arrived; later bytes are not recorded."""
        self.retry_headers: dict[str, str] = {}

    def feed(self, data: bytes, now: float) -> None:
        """Parse `data`, read off the socket at `now`; raises httptools.HttpParserError."""
        self.now = now
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key in RETRY_HEADERS:
            self.retry_headers[key] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.record.status = self.parser.get_status_code()
        self.record.headers_at = self.now
        if self.retry_headers:
            self.record.retry_after = retry_after_s(self.retry_headers)

    def on_body(self, body: bytes) -> None:
        if self.record.status != 200:
            self.error_body += body
        elif not (self.terminal or self.limit_reached):
            self.terminal = self.recorder.feed(body, self.now)
            limit = self.abort_after_tokens
            if not self.terminal and limit is not None and self.record.tokens >= limit:
                self.limit_reached = True

    def on_message_complete(self) -> None:
        self.complete = True
        if self.record.status != 200:
            self.record.terminal_data = {
                "status": self.record.status,
                "body": self.error_body.decode("utf-8", errors="replace"),
            }
