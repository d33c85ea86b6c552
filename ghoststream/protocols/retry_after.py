"""`Retry-After` as a number of seconds: what a refusing server asks its client to wait.

One reading for everyone who honours it: the service before retrying its upstream, the Locust
users before their next stream.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

MAX_RETRY_AFTER_S = 3600.0


def retry_after_s(
    headers: Mapping[str, str], now: float | None = None, limit: float = MAX_RETRY_AFTER_S
) -> float | None:
    """The requested wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date.
    Values that are not finite, negative, or unreadable are ignored; a wait is clamped to
    `limit` so a client is never told to come back next year. `headers` has lowercase names
    (or is case-insensitive)."""
    candidates = (
        (headers.get("retry-after-ms"), 0.001),
        (headers.get("retry-after"), 1.0),
    )
    for value, scale in candidates:
        if value is None:
            continue
        seconds = _number(value, scale)
        if seconds is None and scale == 1.0:
            seconds = _http_date_from_now(value, time.time() if now is None else now)
        if seconds is not None:
            return min(seconds, limit)
    return None


def _number(value: str, scale: float) -> float | None:
    try:
        seconds = float(value) * scale
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _http_date_from_now(value: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
