"""Per-request controls without sockets: the `[mock: ...]` directive, `X-Mock-*` headers, typing."""

from __future__ import annotations

import pytest

from mock_llm.controls import (
    KEYS,
    ControlError,
    from_headers,
    parse_directive,
    strip_directives,
    typed,
)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("no directive here", {}),
        ("[mock: ttft_ms=300]", {"ttft_ms": "300"}),
        (
            "[mock:ttft_ms=300 itl_ms=40  tokens=10] hi",
            {"ttft_ms": "300", "itl_ms": "40", "tokens": "10"},
        ),
        ("[mock: TTFT_MS=5]", {"ttft_ms": "5"}),
        ("[mock: seed=1] text [mock: seed=2 mode=echo]", {"seed": "2", "mode": "echo"}),
        ("[mock: ]", {}),
        (
            "[mock: fault=drop_midstream fault_after=3]",
            {"fault": "drop_midstream", "fault_after": "3"},
        ),
    ],
    ids=[
        "plain-text-has-none",
        "one-pair",
        "several-pairs-any-spacing",
        "keys-are-case-insensitive",
        "a-later-directive-wins",
        "an-empty-directive-is-nothing",
        "fault-and-its-position",
    ],
)
def test_parse_directive(prompt: str, expected: dict[str, str]) -> None:
    assert parse_directive(prompt) == expected


def test_a_directive_item_without_equals_is_an_error() -> None:
    with pytest.raises(ControlError, match="'ttft_ms' is not key=value"):
        parse_directive("[mock: ttft_ms]")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("[mock: mode=echo] hello", "hello"),
        ("[mock: mode=echo]hello", "hello"),
        ("[mock: mode=echo]  two spaces", " two spaces"),
        ("[mock: mode=echo]\nnext line", "next line"),
        ("before [mock: seed=1] after", "before after"),
        ("a[mock: seed=1]b[mock: seed=2]c", "abc"),
        ("[mock is not a directive]", "[mock is not a directive]"),
    ],
)
def test_strip_directives_removes_each_directive_and_one_whitespace_after_it(
    prompt: str, expected: str
) -> None:
    assert strip_directives(prompt) == expected


def test_from_headers_takes_only_mock_headers_by_their_lowercase_names() -> None:
    headers = {
        "x-mock-ttft-ms": "300",
        "x-mock-fault": "http_429",
        "x-mock-scenario": "greeting",
        "authorization": "Bearer sk-x",
        "x-mock-unknown": "1",
    }
    assert from_headers(headers) == {"ttft_ms": "300", "fault": "http_429", "scenario": "greeting"}


def test_every_control_has_a_header() -> None:
    assert all(name == "x-mock-" + key.replace("_", "-") for key, name in KEYS.items())


def test_typed_converts_numbers_and_keeps_names() -> None:
    raw = {
        "ttft_ms": "300",
        "itl_ms": "2.5",
        "jitter_ms": "1e1",
        "tokens": " 10 ",
        "seed": "7",
        "fault_after": "0",
        "retry_after_ms": "2500",
        "mode": "echo",
        "fault": "stall_midstream",
        "scenario": "greeting",
    }
    out = typed(raw)
    assert out == {
        "ttft_ms": 300.0,
        "itl_ms": 2.5,
        "jitter_ms": 10.0,
        "tokens": 10,
        "seed": 7,
        "fault_after": 0,
        "retry_after_ms": 2500,
        "mode": "echo",
        "fault": "stall_midstream",
        "scenario": "greeting",
    }
    assert type(out["tokens"]) is int and type(out["ttft_ms"]) is float


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ttft_ms": "-1"}, "ttft_ms=-1 is out of range"),
        ({"ttft_ms": "nan"}, "out of range"),
        ({"ttft_ms": "inf"}, "out of range"),
        ({"itl_ms": "3600001"}, "out of range"),
        ({"jitter_ms": "inf"}, "out of range"),
        ({"tokens": "1000001"}, "out of range"),
        ({"tokens": "2.5"}, "tokens must be a number"),
        ({"seed": "-3"}, "out of range"),
        ({"itl_ms": "fast"}, "itl_ms must be a number"),
        ({"fault": "http_418"}, "unknown fault 'http_418'"),
        ({"mode": "poetry"}, "unknown mode 'poetry'"),
        ({"temperature": "1"}, "unknown mock control 'temperature'"),
    ],
    ids=[
        "negative-ttft",
        "nan-ttft",
        "infinite-ttft",
        "itl-over-an-hour",
        "infinite-jitter",
        "over-a-million-tokens",
        "fractional-tokens",
        "negative-seed",
        "words-for-a-number",
        "unknown-fault",
        "unknown-mode",
        "unknown-key",
    ],
)
def test_typed_rejects_what_the_mock_cannot_honour(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ControlError, match=message):
        typed(raw)
