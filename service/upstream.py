"""Talking to the OpenAI-compatible upstream: open a streamed completion, read its chunks.

aiohttp plus the project's SSE decoder rather than the openai SDK: the SDK builds a pydantic
model per chunk, which is most of what a naive relay spends per token. aiohttp rather than httpx:
its C parser and plain asyncio streams cost about a twentieth of httpx's CPU per chunk read
(measured: 20 vs 470 µs per token over 200 concurrent streams), and the relay is all chunk reads.
Failures become an `UpstreamFailure` carrying one of the codes in `service.errors`; nothing of
the upstream's own error text is kept.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from service.chat_input import ChatInput
from service.settings import Settings
from service.sse import SSEDecoder

RETRYABLE = frozenset({"rate_limited", "upstream_unavailable", "upstream_unreachable"})


class UpstreamFailure(Exception):
    """The upstream failed in a way the client hears about as `code`."""

    def __init__(self, code: str, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code
        self.retry_after = retry_after
        self.detail = detail


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The upstream's requested wait, from `retry-after-ms` or `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def classify(status: int, headers: Mapping[str, str]) -> UpstreamFailure:
    """The failure a non-200 upstream status means; only the status is kept, never the body."""
    detail = f"HTTP {status}"
    if status == 429:
        return UpstreamFailure("rate_limited", retry_after_s(headers), detail)
    if status in (401, 403):
        return UpstreamFailure("upstream_auth", None, detail)
    if status >= 500:
        return UpstreamFailure("upstream_unavailable", retry_after_s(headers), detail)
    return UpstreamFailure("upstream_rejected", None, detail)


class ChunkParser:
    """OpenAI chunk stream in, text pieces out; remembers finish reason, usage and `[DONE]`.

    A failure (an error object, an unreadable chunk) is kept in `failure` rather than raised, so
    the text pieces that arrived before it in the same read are still relayed first.
    """

    __slots__ = ("decoder", "done", "failure", "finish_reason", "usage")

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.done = False
        self.failure: UpstreamFailure | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, raw: bytes) -> list[str]:
        if self.done or self.failure is not None:
            return []
        texts: list[str] = []
        for event in self.decoder.feed(raw):
            data = event.data
            if data == "[DONE]":
                self.done = True
                break
            try:
                chunk = orjson.loads(data)
                if "error" in chunk:
                    self.failure = UpstreamFailure("upstream_error", detail="error event in stream")
                    break
                choices = chunk.get("choices")
                if choices:
                    choice = choices[0]
                    text = choice["delta"].get("content")
                    if text:
                        texts.append(text)
                    reason = choice.get("finish_reason")
                    if reason:
                        self.finish_reason = reason
                usage = chunk.get("usage")
                if usage:
                    self.usage = usage
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                self.failure = UpstreamFailure("upstream_malformed", detail="unreadable chunk")
                break
        return texts


class Upstream:
    """Opens streamed chat completions, retrying transient failures before anything is sent."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.url = f"{settings.upstream_base_url}/chat/completions"
        self.headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "accept-encoding": "identity",
        }
        if settings.openai_api_key is not None:
            self.headers["authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"

    def body(self, chat: ChatInput) -> bytes:
        persona = self.settings.personas[chat.persona]
        payload: dict[str, Any] = {
            "model": self.settings.llm_model,
            "messages": [{"role": "system", "content": persona.system_prompt}, *chat.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if chat.max_tokens is not None:
            payload["max_completion_tokens"] = chat.max_tokens
        return orjson.dumps(payload)

    async def open(self, body: bytes, request_id: str) -> aiohttp.ClientResponse:
        """A 200 streaming response, or UpstreamFailure after bounded, Retry-After-aware retries.

        Only called before the client has seen a token, so a retry can never duplicate text.
        """
        attempt = 0
        while True:
            failure = await self._attempt(body, request_id)
            if isinstance(failure, aiohttp.ClientResponse):
                return failure
            if failure.code not in RETRYABLE or attempt >= self.settings.retry_attempts:
                raise failure
            wait = failure.retry_after
            if wait is None:
                wait = min(2.0, 0.1 * 2**attempt) * (0.5 + random.random())
            if wait > self.settings.retry_max_wait_s:
                raise failure
            await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(
        self, body: bytes, request_id: str
    ) -> aiohttp.ClientResponse | UpstreamFailure:
        headers = {**self.headers, "x-request-id": request_id}
        try:
            response = await self.session.post(self.url, data=body, headers=headers)
        except aiohttp.ClientError as error:  # includes aiohttp's own connect timeouts
            return UpstreamFailure("upstream_unreachable", detail=type(error).__name__)
        if response.status == 200:
            return response
        response.close()
        return classify(response.status, response.headers)


def session(settings: Settings) -> aiohttp.ClientSession:
    """One pooled session for every stream. No read timeout: the relay times the first token
    and idle gaps itself, with error codes of their own. Bodies are never decompressed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=settings.max_upstream_connections, limit_per_host=0, keepalive_timeout=30
        ),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s),
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    )


def finish(response: aiohttp.ClientResponse) -> None:
    """Reuse the connection if the body was read to its end; otherwise close it, which is what
    tells the upstream to stop generating."""
    if response.content.at_eof():
        response.release()
    else:
        response.close()
