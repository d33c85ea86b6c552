"""Talking to the upstream LLM API: open a streamed answer, classify what goes wrong.

The wire format is the configured dialect's (`ghoststream.protocols`): its request body, its
auth headers, its stream decoder. aiohttp rather than an SDK: the SDKs build a pydantic model per
chunk, which is most of what a naive relay spends per token; aiohttp rather than httpx: its C
parser and plain asyncio streams cost about a twentieth of httpx's CPU per chunk read (measured:
20 vs 470 µs per token over 200 concurrent streams), and the relay is all chunk reads.
Failures become an `UpstreamFailure` carrying one of the codes in `service.errors`; nothing of
the upstream's own error text is kept.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence

import aiohttp
import orjson

from ghoststream.protocols.dialect import Dialect, Message
from ghoststream.protocols.retry_after import retry_after_s

RETRYABLE = frozenset({"rate_limited", "upstream_unavailable", "upstream_unreachable"})


class UpstreamFailure(Exception):
    """The upstream failed in a way the client hears about as `code`."""

    def __init__(self, code: str, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code
        self.retry_after = retry_after
        self.detail = detail


def classify(status: int, headers: Mapping[str, str]) -> UpstreamFailure:
    """The failure a non-200 upstream status means; only the status is kept, never the body."""
    detail = f"HTTP {status}"
    if status == 429:
        return UpstreamFailure("rate_limited", retry_after_s(headers), detail)
    if status in (401, 403):
        return UpstreamFailure("upstream_auth", None, detail)
    if 300 <= status < 400:  # a redirect is never followed: the upstream URL is wrong
        return UpstreamFailure("upstream_rejected", None, detail)
    if status >= 500:
        return UpstreamFailure("upstream_unavailable", retry_after_s(headers), detail)
    return UpstreamFailure("upstream_rejected", None, detail)


class Upstream:
    """Opens streamed answers at `url` in `dialect`, retrying transient failures before
    anything is sent to the client."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        dialect: Dialect,
        url: str,
        key: str | None,
        model: str,
        retry_attempts: int,
        retry_max_wait_s: float,
        max_tokens_limit: int,
    ) -> None:
        self.session = session
        self.max_tokens_limit = max_tokens_limit
        self.dialect = dialect
        self.url = url
        self.model = model
        self.retry_attempts = retry_attempts
        self.retry_max_wait_s = retry_max_wait_s
        self.headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "accept-encoding": "identity",
            **dialect.extra_headers(),
        }
        if key is not None:
            self.headers.update(dialect.auth_headers(key))

    def body(self, messages: Sequence[Message], max_tokens: int | None) -> bytes:
        """The request; an API that requires an output cap gets the service's ceiling."""
        if max_tokens is None and self.dialect.max_tokens_required:
            max_tokens = self.max_tokens_limit
        return orjson.dumps(self.dialect.build_request(self.model, messages, max_tokens))

    async def open(self, body: bytes, request_id: str) -> OpenStream:
        """A 200 streaming response, or UpstreamFailure after bounded, Retry-After-aware retries.

        Only called before the client has seen a token, so a retry can never duplicate text.
        """
        attempt = 0
        while True:
            failure = await self._attempt(body, request_id)
            if isinstance(failure, aiohttp.ClientResponse):
                return OpenStream(failure)
            if failure.code not in RETRYABLE or attempt >= self.retry_attempts:
                raise failure
            wait = failure.retry_after
            if wait is None:
                wait = min(2.0, 0.1 * 2**attempt) * (0.5 + random.random())
            if wait > self.retry_max_wait_s:
                raise failure
            await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(
        self, body: bytes, request_id: str
    ) -> aiohttp.ClientResponse | UpstreamFailure:
        headers = {**self.headers, "x-request-id": request_id}
        try:
            response = await self.session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            )
        except aiohttp.ClientResponseError as error:  # a response head aiohttp cannot parse
            return UpstreamFailure("upstream_malformed", detail=type(error).__name__)
        except aiohttp.ClientError as error:  # includes aiohttp's own connect timeouts
            return UpstreamFailure("upstream_unreachable", detail=type(error).__name__)
        if response.status != 200:
            response.close()
            return classify(response.status, response.headers)
        unreadable = _unreadable_body(response)
        if unreadable:
            response.close()
            return UpstreamFailure("upstream_malformed", detail=unreadable)
        return response


def _unreadable_body(response: aiohttp.ClientResponse) -> str:
    """Why a 200's body cannot be a stream (empty: it can): an SSE stream is
    `text/event-stream`, never encoded (the request asked for identity)."""
    if response.content_type != "text/event-stream":
        return f"content-type {response.content_type!r}"
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        return f"content-encoding {encoding!r}"
    return ""


def session(connect_timeout_s: float, max_connections: int) -> aiohttp.ClientSession:
    """One pooled session for every stream. No read timeout: the relay times the first token
    and idle gaps itself, with error codes of their own. Bodies are never decompressed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections, limit_per_host=0, keepalive_timeout=30
        ),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s),
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    )


class OpenStream:
    """A 200 streaming response being relayed.

    aiohttp leaves a body whose framing breaks mid-way (an invalid chunk size) waiting forever:
    it closes the connection but gives the body neither an end nor an error. Watching the
    connection's close, a body that is not at its end then fails at once: `upstream_malformed`
    for bytes aiohttp could not parse, a plain payload error (`upstream_disconnected`) else.
    """

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.content = response.content
        connection = response.connection
        self._protocol = connection.protocol if connection is not None else None
        self._closed = self._protocol.closed if self._protocol is not None else None
        if self._closed is not None:
            self._closed.add_done_callback(self._on_connection_closed)

    def _on_connection_closed(self, closed: asyncio.Future[None]) -> None:
        closed.exception()  # retrieved, so it is never reported as unretrieved
        if self.content.is_eof() or self.content.exception() is not None:
            return
        parse_error = self._protocol.exception() if self._protocol is not None else None
        if isinstance(parse_error, aiohttp.http_exceptions.HttpProcessingError):
            failure: Exception = UpstreamFailure("upstream_malformed", detail="HTTP framing")
        else:
            failure = aiohttp.ClientPayloadError("connection closed mid-body")
        self.content.set_exception(failure)

    def finish(self) -> None:
        """Reuse the connection if the body was read to its end; otherwise close it, which is
        what tells the upstream to stop generating."""
        if self._closed is not None:
            self._closed.remove_done_callback(self._on_connection_closed)
        if self.content.at_eof():
            self.response.release()
        else:
            self.response.close()
