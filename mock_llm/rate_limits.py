"""A provider's rate limits, enforced: requests and tokens per minute, and the headers that say so.

Off unless `--rpm` or `--tpm` is set. Each budget is a bucket holding a minute's allowance that
refills continuously (a provider's limits behave so: a burst spends the minute, then capacity
returns at the per-minute rate). A request costs one request and its prompt tokens plus the
completion tokens it will be sent; one the buckets cannot pay is refused with a 429 and the wait
until they can, and spends nothing. Every answer, refused or not, carries the budgets' state in
the dialect's own headers: OpenAI's `x-ratelimit-*` (resets as durations, `1s`, `6m0s`) or
Anthropic's `anthropic-ratelimit-*` (resets as RFC 3339 times).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Headers = list[tuple[bytes, bytes]]


@dataclass
class Bucket:
    per_minute: int
    level: float = field(init=False)
    """Starts full: a minute's allowance."""
    updated: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.level = float(self.per_minute)

    def refill(self, now: float) -> None:
        if self.updated is not None:
            rate = self.per_minute / 60.0
            self.level = min(float(self.per_minute), self.level + (now - self.updated) * rate)
        self.updated = now

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` can be paid (0: now); infinite if it never can."""
        if cost > self.per_minute:
            return math.inf
        return max(0.0, (cost - self.level) / (self.per_minute / 60.0))

    def until_full(self) -> float:
        return (self.per_minute - self.level) / (self.per_minute / 60.0)


@dataclass
class RateLimits:
    rpm: int | None = None
    tpm: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _requests: Bucket | None = field(init=False)
    _tokens: Bucket | None = field(init=False)

    def __post_init__(self) -> None:
        self._requests = Bucket(self.rpm) if self.rpm else None
        self._tokens = Bucket(self.tpm) if self.tpm else None

    @property
    def enabled(self) -> bool:
        return self._requests is not None or self._tokens is not None

    def admit(self, tokens: int, anthropic: bool) -> tuple[float | None, Headers]:
        """Spend one request and `tokens`, or refuse: (None, headers) when admitted, else
        (seconds to wait, headers). Nothing is spent on a refusal."""
        now = self.clock()
        buckets = [
            (b, c) for b, c in ((self._requests, 1), (self._tokens, tokens)) if b is not None
        ]
        for bucket, _ in buckets:
            bucket.refill(now)
        wait = max((bucket.wait_for(cost) for bucket, cost in buckets), default=0.0)
        if wait <= 0:
            for bucket, cost in buckets:
                bucket.level -= cost
        headers = self._headers(anthropic)
        return (None if wait <= 0 else wait), headers

    def _headers(self, anthropic: bool) -> Headers:
        headers: Headers = []
        for kind, bucket in (("requests", self._requests), ("tokens", self._tokens)):
            if bucket is None:
                continue
            remaining = str(max(0, math.floor(bucket.level))).encode()
            limit = str(bucket.per_minute).encode()
            reset = bucket.until_full()
            if anthropic:
                at = datetime.fromtimestamp(time.time() + reset, UTC).replace(microsecond=0)
                prefix = f"anthropic-ratelimit-{kind}-".encode()
                headers += [
                    (prefix + b"limit", limit),
                    (prefix + b"remaining", remaining),
                    (prefix + b"reset", at.isoformat().replace("+00:00", "Z").encode()),
                ]
            else:
                headers += [
                    (f"x-ratelimit-limit-{kind}".encode(), limit),
                    (f"x-ratelimit-remaining-{kind}".encode(), remaining),
                    (f"x-ratelimit-reset-{kind}".encode(), duration(reset).encode()),
                ]
        return headers


def duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `1h2m3s`; fractions of a second as `120ms`."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
