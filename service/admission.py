"""Who may open a stream now: the API key check and the limits that protect the upstream budget.

Every refusal happens before the stream starts, as a 401, 429 or 503 with `Retry-After`.
A client is its API key when auth is on, else its address. Concurrency slots are held for the
stream's whole life and given back in the relay's `finally`, however the stream ended.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ghoststream.asgi import Scope
from service.errors import input_error
from service.settings import Settings

MAX_TRACKED_CLIENTS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBuckets:
    """One token bucket per client: `rate` tokens a second, up to `burst`; rate 0: no limit."""

    rate: float
    burst: int
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def wait(self, client: str, now: float) -> float:
        """Seconds until `client` has a whole token (0: it has one now)."""
        if self.rate <= 0:
            return 0.0
        bucket = self.buckets.get(client)
        if bucket is None:
            return 0.0
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, client: str, now: float) -> float:
        """Spend one of `client`'s tokens and return 0, or return the wait and spend nothing."""
        wait = self.wait(client, now)
        if wait or self.rate <= 0:
            return wait
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= MAX_TRACKED_CLIENTS:
                self._forget_full(now)
            bucket = self.buckets[client] = _Bucket(float(self.burst), now)
        bucket.tokens -= 1
        return 0.0

    def _forget_full(self, now: float) -> None:
        self.buckets = {
            client: bucket
            for client, bucket in self.buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate < self.burst
        }


@dataclass
class Admission:
    settings: Settings
    open_streams: int = 0
    per_client: dict[str, int] = field(default_factory=dict)
    _keys: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.settings
        self._keys = [key.get_secret_value().encode() for key in settings.service_api_keys]
        self.requests = TokenBuckets(settings.rate_per_client_s, settings.rate_burst)
        self.failed_logins = TokenBuckets(settings.auth_failure_rate_s, settings.auth_failure_burst)

    def identify(self, scope: Scope, now: float | None = None) -> str:
        """The client's identity for limits; raises a 401 refusal when auth is on and fails.

        An address that keeps presenting wrong keys is refused with 429 before its key is even
        checked, so guessing costs time and tells nothing."""
        address = _address(scope)
        if not self._keys:
            return address
        now = time.monotonic() if now is None else now
        wait = self.failed_logins.wait(address, now)
        if wait:
            raise input_error("too_many_requests", "Too many failed logins; slow down.", wait)
        presented = _bearer(scope)
        if presented is None or not any(hmac.compare_digest(presented, k) for k in self._keys):
            self.failed_logins.take(address, now)
            raise input_error(
                "unauthorized", "A valid API key is required: Authorization: Bearer <key>."
            )
        return "key:" + hashlib.sha256(presented).hexdigest()[:16]

    def take_request(self, client: str, now: float | None = None) -> None:
        """Spend one token of the client's bucket, or refuse with 429 and when to come back."""
        wait = self.requests.take(client, time.monotonic() if now is None else now)
        if wait:
            raise input_error("too_many_requests", "Too many requests; slow down.", wait)

    @contextmanager
    def stream_slot(self, client: str) -> Iterator[None]:
        """Hold a global and a per-client slot for the block, or refuse (503 / 429)."""
        settings = self.settings
        if self.open_streams >= settings.max_streams:
            raise input_error(
                "over_capacity", "The service is at capacity; try again shortly.", 1.0
            )
        held = self.per_client.get(client, 0)
        if held >= settings.max_streams_per_client:
            raise input_error(
                "too_many_streams",
                f"At most {settings.max_streams_per_client} streams at once per client.",
                1.0,
            )
        self.open_streams += 1
        self.per_client[client] = held + 1
        try:
            yield
        finally:
            self.open_streams -= 1
            left = self.per_client[client] - 1
            if left:
                self.per_client[client] = left
            else:
                del self.per_client[client]


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return bytes(token.strip())
    return None
