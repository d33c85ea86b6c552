"""Upstream failure classification, with no sockets (the stream decoders are the protocols')."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from service.upstream import classify, retry_after_s


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({}, None),
    ],
)
def test_retry_after_prefers_milliseconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(CIMultiDict(headers)) == expected


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "rate_limited"),
        (401, "upstream_auth"),
        (403, "upstream_auth"),
        (500, "upstream_unavailable"),
        (503, "upstream_unavailable"),
        (400, "upstream_rejected"),
        (404, "upstream_rejected"),
    ],
)
def test_statuses_map_to_codes_without_upstream_text(status: int, code: str) -> None:
    failure = classify(status, CIMultiDict({"Retry-After": "1"}))
    assert failure.code == code
    assert str(failure) == f"{code}: HTTP {status}"  # nothing from the upstream's body
