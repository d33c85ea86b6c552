"""The three ways a stream is measured: straight from the mock, through the service, and
through the naive relay. Each opens the same prompt, so their figures can be subtracted."""

from __future__ import annotations

from dataclasses import dataclass

from harness.client import openai_body, timed_stream
from harness.evidence import MockEvidence
from harness.records import Dialect, StreamRecord


def directive(**settings: object) -> str:
    """The mock's in-prompt control, e.g. directive(ttft_ms=50, tokens=20)."""
    return "[mock: " + " ".join(f"{key}={value}" for key, value in settings.items()) + "]"


@dataclass(frozen=True)
class Endpoint:
    """Where streams go: `direct` is the mock's own API, the others relay it."""

    name: str
    base_url: str
    pid: int | None = None

    @property
    def evidence(self) -> MockEvidence:
        """The mock's account of its streams (meaningful for the `direct` endpoint)."""
        return MockEvidence(self.base_url)

    @property
    def dialect(self) -> Dialect:
        return {"direct": "openai", "service": "service", "naive": "raw"}.get(self.name, "openai")

    async def stream(
        self,
        prompt: str,
        *,
        abort_after_tokens: int | None = None,
        abort_after_s: float | None = None,
        timeout: float = 60.0,
    ) -> StreamRecord:
        if self.dialect == "openai":
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
        )
