"""Request parsing and planning without sockets: what wins when defaults, scenario, headers and
the prompt directive disagree, and what the parsed request keeps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_llm.chat_request import ChatRequest, RequestError, parse, plan
from mock_llm.config import MockConfig
from mock_llm.scenarios import Scenario

CONFIG = MockConfig(ttft_ms=50, itl_ms=5, tokens=20, seed=3, jitter_ms=0)
SCENARIO = Scenario(
    name="greeting",
    controls={"ttft_ms": 120.0, "itl_ms": 15.0, "tokens": 8, "mode": "fixed"},
    text="Hi!",
    substring="hello",
)


def _request(prompt: str, **extra: Any) -> ChatRequest:
    body = {"model": "m", "messages": [{"role": "user", "content": prompt}], **extra}
    return parse(json.dumps(body).encode())


def test_defaults_apply_when_nothing_overrides_them() -> None:
    got, scenario = plan(CONFIG, _request("plain"), {}, [SCENARIO])
    assert scenario is None
    assert (got.ttft_ms, got.itl_ms, got.tokens, got.seed, got.mode) == (50, 5, 20, 3, "prose")


@pytest.mark.parametrize(
    ("prompt", "headers", "ttft_ms", "itl_ms", "tokens"),
    [
        ("hello", {}, 120, 15, 8),
        ("hello", {"x-mock-ttft-ms": "200"}, 200, 15, 8),
        ("[mock: ttft_ms=300] hello", {"x-mock-ttft-ms": "200", "x-mock-itl-ms": "7"}, 300, 7, 8),
        ("[mock: tokens=3] plain", {"x-mock-tokens": "9"}, 50, 5, 3),
    ],
    ids=[
        "scenario-over-defaults",
        "headers-over-scenario",
        "directive-over-headers",
        "directive-over-headers-without-scenario",
    ],
)
def test_precedence_is_defaults_then_scenario_then_headers_then_directive(
    prompt: str, headers: dict[str, str], ttft_ms: float, itl_ms: float, tokens: int
) -> None:
    got, _ = plan(CONFIG, _request(prompt), headers, [SCENARIO])
    assert (got.ttft_ms, got.itl_ms, got.tokens) == (ttft_ms, itl_ms, tokens)


def test_a_matched_scenario_brings_its_text_and_name() -> None:
    got, scenario = plan(CONFIG, _request("Well, HELLO!"), {}, [SCENARIO])
    assert scenario is SCENARIO
    assert (got.scenario, got.mode, got.fixed_text) == ("greeting", "fixed", "Hi!")


def test_a_scenario_named_in_a_header_wins_over_matching() -> None:
    other = Scenario(name="other", controls={"tokens": 2}, substring="nothing-matches-this")
    got, scenario = plan(CONFIG, _request("hello"), {"x-mock-scenario": "other"}, [SCENARIO, other])
    assert scenario is other and got.tokens == 2


@pytest.mark.parametrize(
    ("prompt", "headers", "message"),
    [
        ("[mock: scenario=missing] x", {}, "unknown mock scenario 'missing'"),
        ("[mock: mode=fixed] x", {}, "mode=fixed needs a scenario"),
        ("x", {"x-mock-fault": "http_999"}, "unknown fault"),
        ("[mock: ttft_ms=-5] x", {}, "ttft_ms=-5 is out of range"),
    ],
    ids=["unknown-scenario", "fixed-without-text", "bad-header", "bad-directive"],
)
def test_bad_controls_are_a_400(prompt: str, headers: dict[str, str], message: str) -> None:
    with pytest.raises(RequestError, match=message) as caught:
        plan(CONFIG, _request(prompt), headers, [SCENARIO])
    assert caught.value.status == 400
    assert caught.value.body["error"]["type"] == "invalid_request_error"


def test_the_directive_is_read_from_the_last_user_message_only() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "[mock: tokens=1]"},
            {"role": "user", "content": "[mock: tokens=2] first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "second "}, {"type": "text", "text": "part"}],
            },
        ],
    }
    request = parse(json.dumps(body).encode())
    assert request.last_user_text == "second part"
    assert plan(CONFIG, request, {}, [])[0].tokens == 20


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert _request("x", max_tokens=9, max_completion_tokens=4).max_tokens == 4
    assert _request("x", max_tokens=9).max_tokens == 9
    assert _request("x").max_tokens is None


def test_include_usage_needs_stream_options() -> None:
    assert _request("x", stream=True, stream_options={"include_usage": True}).include_usage
    assert not _request("x", stream=True).include_usage


def test_the_digest_depends_on_every_message_and_role() -> None:
    digests = {
        _request("a").digest,
        _request("b").digest,
        parse(b'{"model":"m","messages":[{"role":"system","content":"a"}]}').digest,
    }
    assert len(digests) == 3
    assert _request("a").digest == _request("a", stream=True).digest
