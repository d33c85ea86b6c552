"""The `[mock: ...]` prompt directive without sockets: written, read, stripped, in linear time."""

from __future__ import annotations

import time

import pytest

from mock_llm.controls import ControlError
from mock_llm.directive import MAX_DIRECTIVE_CHARS, MAX_DIRECTIVES, directive, parse, strip


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
    assert parse(prompt) == expected


def test_a_directive_item_without_equals_is_an_error() -> None:
    with pytest.raises(ControlError, match="'ttft_ms' is not key=value"):
        parse("[mock: ttft_ms]")


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
    assert strip(prompt) == expected


def test_the_writer_writes_what_the_reader_reads() -> None:
    written = directive(ttft_ms=50, fault="http_429", tokens=3)
    assert written == "[mock: ttft_ms=50 fault=http_429 tokens=3]"
    assert parse(written + " hi") == {"ttft_ms": "50", "fault": "http_429", "tokens": "3"}


def test_the_writer_refuses_a_control_the_mock_does_not_have() -> None:
    with pytest.raises(ValueError, match="ttft"):
        directive(ttft=50)


@pytest.mark.parametrize(
    "prompt",
    [
        "[mock:" * 200_000,
        "[mock: a" * 100_000 + "]",
        ("[mock: seed=1] " * 60) + "x" * 1_000_000,
    ],
    ids=["a-million-openings-never-closed", "openings-closed-once-at-the-end", "a-long-prompt"],
)
def test_reading_is_linear_in_the_prompt(prompt: str) -> None:
    """Regression: a regex scan from every `[mock:` made 32 KB of openings take a second."""
    started = time.perf_counter()
    try:
        parse(prompt)
        strip(prompt)
    except ControlError:
        pass
    assert time.perf_counter() - started < 0.5


def test_a_prompt_may_hold_only_so_many_directives() -> None:
    parse("[mock: seed=1]" * MAX_DIRECTIVES)
    with pytest.raises(ControlError, match=f"at most {MAX_DIRECTIVES}"):
        parse("[mock: seed=1]" * (MAX_DIRECTIVES + 1))


def test_a_directive_may_be_only_so_long() -> None:
    with pytest.raises(ControlError, match=f"over {MAX_DIRECTIVE_CHARS}"):
        parse("[mock: " + "x" * MAX_DIRECTIVE_CHARS + "]")
