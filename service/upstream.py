"""Talking to the OpenAI-compatible upstream: open a streamed completion, read its chunks.

Plain httpx plus the project's SSE decoder rather than the openai SDK: the SDK builds a pydantic
model per chunk, which is most of what a naive relay spends per token. Failures become an
`UpstreamFailure` carrying one of the codes in `service.errors`; nothing of the upstream's own
error text is kept.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx

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


def retry_after_s(headers: httpx.Headers) -> float | None:
    """The upstream's requested wait, from `retry-after-ms` or `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def classify(response: httpx.Response) -> UpstreamFailure:
    status = response.status_code
    detail = f"HTTP {status}"
    if status == 429:
        return UpstreamFailure("rate_limited", retry_after_s(response.headers), detail)
    if status in (401, 403):
        return UpstreamFailure("upstream_auth", None, detail)
    if status >= 500:
        return UpstreamFailure("upstream_unavailable", retry_after_s(response.headers), detail)
    return UpstreamFailure("upstream_rejected", None, detail)


class ChunkParser:
    """OpenAI chunk stream in, text pieces out; remembers finish reason, usage and `[DONE]`."""

    __slots__ = ("decoder", "done", "finish_reason", "usage")

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.done = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, raw: bytes) -> list[str]:
        texts: list[str] = []
        for event in self.decoder.feed(raw):
            data = event.data
            if data == "[DONE]":
                self.done = True
                break
            try:
                chunk = json.loads(data)
                if "error" in chunk:
                    raise UpstreamFailure("upstream_error", detail="error event in stream")
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
                raise UpstreamFailure("upstream_malformed", detail="unreadable chunk") from None
        return texts


class Upstream:
    """Opens streamed chat completions, retrying transient failures before anything is sent."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
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
        return json.dumps(payload, ensure_ascii=False).encode()

    async def open(self, body: bytes, request_id: str) -> httpx.Response:
        """A 200 streaming response, or UpstreamFailure after bounded, Retry-After-aware retries.

        Only called before the client has seen a token, so a retry can never duplicate text.
        """
        attempt = 0
        while True:
            failure = await self._attempt(body, request_id)
            if isinstance(failure, httpx.Response):
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

    async def _attempt(self, body: bytes, request_id: str) -> httpx.Response | UpstreamFailure:
        request = self.client.build_request(
            "POST", self.url, content=body, headers={**self.headers, "x-request-id": request_id}
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TransportError as error:
            return UpstreamFailure("upstream_unreachable", detail=type(error).__name__)
        if response.status_code == 200:
            return response
        await response.aclose()
        return classify(response)
