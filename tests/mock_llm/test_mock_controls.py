"""Per-request controls without sockets: one declaration, its headers and flags, and typing."""

from __future__ import annotations

import dataclasses

import pytest

from mock_llm.config import MockConfig, StreamPlan
from mock_llm.controls import CONTROLS, ControlError, from_headers, typed
from mock_llm.faults import FAULTS
from tests.readme_tables import code_names, table_under


def test_from_headers_takes_only_mock_headers_by_their_lowercase_names() -> None:
    headers = {
        "x-mock-ttft-ms": "300",
        "x-mock-fault": "http_429",
        "x-mock-scenario": "greeting",
        "authorization": "Bearer sk-x",
        "x-mock-unknown": "1",
    }
    assert from_headers(headers) == {"ttft_ms": "300", "fault": "http_429", "scenario": "greeting"}


def test_every_control_has_a_header_named_after_it() -> None:
    assert CONTROLS["ttft_ms"].header == "x-mock-ttft-ms"
    assert all(c.header == "x-mock-" + name.replace("_", "-") for name, c in CONTROLS.items())


def test_the_plan_and_the_config_hold_exactly_the_declared_controls() -> None:
    """The declaration is the one list: a control added there must reach the plan, and a
    server-wide one the CLI's config."""
    plan_fields = {f.name for f in dataclasses.fields(StreamPlan)}
    assert plan_fields - {"fixed_text"} == set(CONTROLS)
    config_fields = {f.name for f in dataclasses.fields(MockConfig)}
    assert {name for name, c in CONTROLS.items() if c.server_wide} <= config_fields


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


def test_the_readme_lists_every_control_with_its_header() -> None:
    rows = table_under("### Per-request controls")
    documented = {code_names(row[1])[0]: code_names(row[0])[0].lower() for row in rows}
    assert documented == {name: c.header for name, c in CONTROLS.items()}


def test_the_readme_lists_every_fault_with_its_ledger_outcome() -> None:
    rows = table_under("### Faults")
    documented = {code_names(row[0])[0]: code_names(row[2])[0] for row in rows}
    assert documented == {name: f.outcome for name, f in FAULTS.items()}
