"""The ways a stream is measured: straight from the mock, through the service, through the naive
relay and through nginx. Each opens the same prompt, so their figures can be compared."""

from __future__ import annotations

from dataclasses import dataclass

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.records import StreamRecord


@dataclass(frozen=True)
class Endpoint:
    """Where streams go: `direct` is the mock's own API, the others relay it."""

    name: str
    base_url: str
    pid: int | None = None
    dialect: str = "chat"
    """What its streams are: `chat` (the mock's API, and nginx passing it through),
    `ghoststream` (the service), `raw` (the naive relay)."""

    @property
    def evidence(self) -> MockEvidence:
        """The mock's account of its streams (meaningful for the `direct` endpoint)."""
        return MockEvidence(self.base_url)

    async def stream(
        self,
        prompt: str,
        *,
        abort_after_tokens: int | None = None,
        abort_after_s: float | None = None,
        timeout: float = 60.0,
        request_id: str | None = None,
    ) -> StreamRecord:
        """One stream; `request_id` reaches the mock's ledger through any relay (the service
        forwards it, nginx passes it on), so the two sides of one stream can be matched."""
        if self.dialect == "chat":
            url, body, method, params = (
                f"{self.base_url}/v1/chat/completions",
                openai_body(prompt),
                "POST",
                None,
            )
        else:
            url, body, method, params = f"{self.base_url}/ask-ai", None, "GET", {"prompt": prompt}
        return await timed_stream(
            url,
            body,
            method=method,
            params=params,
            dialect=self.dialect,
            abort_after_tokens=abort_after_tokens,
            abort_after_s=abort_after_s,
            timeout=timeout,
            headers={"X-Request-Id": request_id} if request_id else None,
        )
