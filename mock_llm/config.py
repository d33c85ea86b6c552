"""The mock's server-wide defaults and the per-stream plan resolved from them.

Defaults come from the CLI (or a test's `MockConfig`); each request may override them with
`X-Mock-*` headers, a `[mock: ...]` directive in its prompt, or a matching scenario. The fields
named like controls are those of `mock_llm.controls.CONTROLS` (a test holds them in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["prose", "echo", "fixed"]


@dataclass(frozen=True)
class MockConfig:
    """Server-wide defaults. Times are milliseconds; `tokens` is the length of a prose answer."""

    ttft_ms: float = 300.0
    itl_ms: float = 30.0
    tokens: int = 40
    seed: int = 0
    jitter_ms: float = 0.0
    prefill_ms_per_token: float = 0.0
    prefill_overhead_ms: float = 0.0
    load_factor: float = 1.0
    replay_speed: float = 1.0
    """A recorded scenario's offsets are divided by this (`mock_llm.replay`)."""
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    scenarios_path: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    history: int = 10_000
    max_concurrency: int | None = None
    """Open streams beyond this get a 429: an upstream that pushes back."""
    rpm: int | None = None
    tpm: int | None = None
    """Requests and tokens per minute, enforced with 429s and reported in rate-limit headers."""
    max_num_seqs: int | None = None
    """Streams generating at once (`mock_llm.engine`); the rest wait their turn."""
    max_queue: int | None = None
    """Streams that may wait for a slot; beyond it a 503, as vLLM's bounded queue answers."""
    prefix_cache: bool = False
    """Leave a recently seen prompt prefix out of the prefill (`mock_llm.engine.PrefixCache`)."""


@dataclass(frozen=True)
class StreamPlan:
    """Everything that decides one response: what text, on what schedule, with which fault."""

    ttft_ms: float
    itl_ms: float
    tokens: int
    seed: int
    jitter_ms: float
    prefill_ms_per_token: float = 0.0
    prefill_overhead_ms: float = 0.0
    load_factor: float = 1.0
    replay_speed: float = 1.0
    mode: Mode = "prose"
    fault: str | None = None
    fault_after: int = 0
    fault_times: int | None = None
    """None: every time."""
    fault_rate: float = 1.0
    retry_after_ms: int = 1000
    tool_call: str | None = None
    scenario: str | None = None
    fixed_text: str | None = None
