"""Upstream failure classification, with no sockets (the stream decoders are the protocols')."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from ghoststream.protocols.retry_after import retry_after_s
from service.upstream import classify


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30"}, None),  # no zone: not a valid date
        ({}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after-ms": "-1", "retry-after": "2"}, 2.0),
        ({"retry-after-ms": "NaN", "retry-after": "soon"}, None),
        ({"retry-after": "1e308"}, 3600.0),
        ({"retry-after-ms": "99999999999"}, 3600.0),
    ],
)
def test_retry_after_is_finite_non_negative_and_clamped(
    headers: dict[str, str], expected: float | None
) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert retry_after_s(CIMultiDict(headers), now=now) == expected


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
        (302, "upstream_rejected"),
        (307, "upstream_rejected"),
    ],
)
def test_statuses_map_to_codes_without_upstream_text(status: int, code: str) -> None:
    failure = classify(status, CIMultiDict({"Retry-After": "1"}))
    assert failure.code == code
    assert str(failure) == f"{code}: HTTP {status}"  # nothing from the upstream's body
