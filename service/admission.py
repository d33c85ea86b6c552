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
class Admission:
    settings: Settings
    open_streams: int = 0
    per_client: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    _keys: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._keys = [key.get_secret_value().encode() for key in self.settings.service_api_keys]

    def identify(self, scope: Scope) -> str:
        """The client's identity for limits; raises a 401 refusal when auth is on and fails."""
        if not self._keys:
            client = scope.get("client")
            return f"addr:{client[0]}" if client else "addr:unknown"
        presented = _bearer(scope)
        if presented is None or not any(hmac.compare_digest(presented, k) for k in self._keys):
            raise input_error(
                "unauthorized", "A valid API key is required: Authorization: Bearer <key>."
            )
        return "key:" + hashlib.sha256(presented).hexdigest()[:16]

    def take_request(self, client: str, now: float | None = None) -> None:
        """Spend one token of the client's bucket, or refuse with 429 and when to come back."""
        rate, burst = self.settings.rate_per_client_s, self.settings.rate_burst
        if rate <= 0:
            return
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= MAX_TRACKED_CLIENTS:
                self._forget_full_buckets(now)
            bucket = self.buckets[client] = _Bucket(float(burst), now)
        else:
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens < 1:
            wait = (1 - bucket.tokens) / rate
            raise input_error("too_many_requests", "Too many requests; slow down.", wait)
        bucket.tokens -= 1

    def _forget_full_buckets(self, now: float) -> None:
        rate, burst = self.settings.rate_per_client_s, self.settings.rate_burst
        self.buckets = {
            client: bucket
            for client, bucket in self.buckets.items()
            if bucket.tokens + (now - bucket.updated) * rate < burst
        }

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


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return bytes(token.strip())
    return None
