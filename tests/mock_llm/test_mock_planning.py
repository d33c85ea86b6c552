"""Planning without sockets: what wins when defaults, scenario, headers and the prompt directive
disagree, and which pieces an answer streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ghoststream.protocols.chat import DIALECT
from ghoststream.protocols.dialect import GenerationRequest, InvalidRequest
from mock_llm.config import MockConfig
from mock_llm.planning import pieces, plan
from mock_llm.scenarios import Scenario

CONFIG = MockConfig(ttft_ms=50, itl_ms=5, tokens=20, seed=3, jitter_ms=0)
SCENARIO = Scenario(
    name="greeting",
    controls={"ttft_ms": 120.0, "itl_ms": 15.0, "tokens": 8, "mode": "fixed"},
    text="Hi!",
    substring="hello",
)


def parse(raw: bytes) -> GenerationRequest:
    return DIALECT.parse_request(raw, {})


def _request(prompt: str, **extra: Any) -> GenerationRequest:
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
    with pytest.raises(InvalidRequest, match=message) as caught:
        plan(CONFIG, _request(prompt), headers, [SCENARIO])
    assert caught.value.status == 400


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


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                },
                "required": ["city"],
            },
        },
    }
]


def test_a_tool_call_streams_its_arguments_in_pieces_that_join_to_valid_json() -> None:
    request = _request("[mock: tool_call=get_weather] weather?", tools=TOOLS)
    got, _ = plan(CONFIG, request, {}, [])
    answer = pieces(request, got, "call_1")
    assert answer.call is not None and answer.call.name == "get_weather"
    arguments = json.loads("".join(answer.arguments))
    assert arguments == json.loads(answer.call.arguments)
    assert arguments["unit"] in ("celsius", "fahrenheit") and 1 <= arguments["days"] <= 7
    assert answer.count == len(answer.arguments) > 3 and answer.reason == "tool_calls"
    again = pieces(request, got, "call_2")
    assert again.call is not None and again.call.arguments == answer.call.arguments


@pytest.mark.parametrize(
    ("prompt", "extra", "message"),
    [
        ("[mock: tool_call=auto] x", {}, "needs a request that offers tools"),
        ("[mock: tool_call=other] x", {"tools": TOOLS}, "not among the tools offered"),
        ("[mock: tool_call=auto] x", {"tools": TOOLS, "tool_choice": "none"}, "tool_choice=none"),
    ],
    ids=["no-tools-offered", "unknown-tool", "tool-choice-none"],
)
def test_a_tool_call_the_request_does_not_allow_is_a_400(
    prompt: str, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        plan(CONFIG, _request(prompt, **extra), {}, [])


def test_max_tokens_cuts_an_answer_short_with_length() -> None:
    request = _request("[mock: tokens=10] x", max_tokens=4)
    answer = pieces(request, plan(CONFIG, request, {}, [])[0])
    assert (len(list(answer.text)), answer.count, answer.reason) == (4, 4, "length")
