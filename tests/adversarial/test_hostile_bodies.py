"""Every field of every body given every wrong type, over real sockets: always a documented 4xx in
the usual error shape, never a 500 or a traceback; then directive bombs and undecodable text."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import INPUT_ERRORS
from tests.adversarial.conftest import MAX_TOKENS_LIMIT, Target

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def not_of(*types: type) -> st.SearchStrategy[Any]:
    """JSON values of any type but these (bool is not an int here, as JSON has no such link)."""

    def wrong(value: Any) -> bool:
        if isinstance(value, bool):
            return bool not in types
        return not isinstance(value, types)

    return JSON_VALUES.filter(wrong)


SERVICE_BODIES = st.one_of(
    not_of(dict),
    st.fixed_dictionaries({"messages": not_of(list)}),
    st.fixed_dictionaries({"messages": st.lists(not_of(dict), min_size=1, max_size=2)}),
    st.fixed_dictionaries(
        {
            "messages": st.tuples(
                st.fixed_dictionaries({"role": not_of(str), "content": st.just("x")})
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "messages": st.tuples(
                st.fixed_dictionaries({"role": st.just("user"), "content": not_of(str)})
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "messages": st.just([{"role": "user", "content": "x"}]),
            "persona": not_of(str, type(None)),
        }
    ),
    st.fixed_dictionaries(
        {
            "messages": st.just([{"role": "user", "content": "x"}]),
            "max_tokens": not_of(int, str, type(None))
            | st.integers(max_value=0)
            | st.integers(min_value=MAX_TOKENS_LIMIT + 1),
        }
    ),
)
MOCK_BODIES = st.one_of(
    not_of(dict),
    st.fixed_dictionaries(
        {"model": not_of(str), "messages": st.just([{"role": "user", "content": "x"}])}
    ),
    st.fixed_dictionaries({"model": st.just("m"), "messages": not_of(list)}),
    st.fixed_dictionaries(
        {"model": st.just("m"), "messages": st.lists(not_of(dict), min_size=1, max_size=2)}
    ),
    st.fixed_dictionaries(
        {
            "model": st.just("m"),
            "messages": st.tuples(
                st.fixed_dictionaries({"role": not_of(str), "content": st.just("x")})
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "model": st.just("m"),
            "messages": st.tuples(
                st.fixed_dictionaries(
                    {"role": st.just("user"), "content": not_of(str, list, type(None))}
                )
            ),
        }
    ),
    *(
        st.fixed_dictionaries(
            {
                "model": st.just("m"),
                "messages": st.just([{"role": "user", "content": "x"}]),
                field: wrong,
            }
        )
        for field, wrong in (
            ("stream", not_of(bool, type(None))),
            ("max_tokens", not_of(int, type(None)) | st.integers(max_value=0)),
            ("max_completion_tokens", not_of(int, type(None)) | st.integers(max_value=0)),
            ("stream_options", not_of(dict, type(None))),
            ("n", not_of(int, type(None)) | st.integers(min_value=2)),
            ("tools", not_of(list, type(None))),
            ("tools", st.lists(not_of(dict), min_size=1, max_size=2)),
            ("tool_choice", not_of(str, dict, type(None))),
        )
    ),
)


def assert_refused(target: Target, response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if target.name == "service":
        assert INPUT_ERRORS[error["code"]] == response.status_code
    else:
        assert error["type"] == "invalid_request_error"


@given(data=st.data())
@EXAMPLES
def test_wrong_types_and_ranges_are_refused_with_4xx(target: Target, data: st.DataObject) -> None:
    bodies = SERVICE_BODIES if target.name == "service" else MOCK_BODIES
    body = data.draw(bodies)
    with httpx.Client(timeout=10) as client:
        response = client.post(
            f"{target.url}{target.chat_path}",
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )
    assert_refused(target, response)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"messages": [{"role": "user", "content": "\\ud800 lone"}]}',
        b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e400}',
        b'{"messages": [{"role": "user", "content": NaN}]}',
        b'{"messages": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}',
    ],
    ids=["lone-surrogate", "infinity", "nan", "nested-5000", "invalid-utf8"],
)
async def test_text_no_encoder_can_write_is_refused_with_400(recovered: Target, raw: bytes) -> None:
    raw = raw if recovered.name == "service" else raw.replace(b"{", b'{"model": "m", ', 1)
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{recovered.url}{recovered.chat_path}",
            content=raw,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400, response.text[:300]
    assert_refused(recovered, response)


async def test_a_directive_bomb_is_answered_in_linear_time(recovered: Target) -> None:
    """Thousands of `[mock:` openings used to cost quadratic time in the mock (and, embedded,
    in the service's own loop): now one linear pass, capped."""
    repeats = 4_500 if recovered.name == "mock" else 2_250  # ~32 KB; the service takes 16,000
    prompt = "[mock: " * repeats + "x"
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
    if recovered.name == "mock":
        body = {"model": "m", **body}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{recovered.url}{recovered.chat_path}",
            json=body,
            headers={"x-mock-ttft-ms": "0", "x-mock-tokens": "1"},
        )
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, elapsed
    assert response.status_code == 200  # an unclosed opening is text, not a directive


async def test_a_tool_schema_that_multiplies_is_answered_within_a_budget(
    guarded_mock: Target,
) -> None:
    """Nested arrays of `minItems: 8` ask for 8**8 values from a few hundred bytes of schema; the
    mock makes its tool-call arguments within a budget instead (MAX_ARGUMENT_BYTES)."""
    from mock_llm.tool_args import MAX_ARGUMENT_BYTES

    schema: dict[str, Any] = {"type": "string"}
    for _ in range(8):
        schema = {"type": "array", "minItems": 8, "items": schema}
    tool = {
        "type": "function",
        "function": {"name": "bomb", "parameters": {"type": "object", "properties": {"a": schema}}},
    }
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [tool]}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{guarded_mock.url}/v1/chat/completions",
            json=body,
            headers={"x-mock-tool-call": "auto", "x-mock-ttft-ms": "0", "x-mock-itl-ms": "0"},
        )
    assert time.monotonic() - started < 2.0
    assert response.status_code == 200, response.text[:300]
    call = response.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "bomb"
    arguments = json.loads(call["arguments"])
    assert isinstance(arguments["a"], list)
    assert len(call["arguments"]) < 2 * MAX_ARGUMENT_BYTES
