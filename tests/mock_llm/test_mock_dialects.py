"""Every dialect the mock serves gets every control, fault, scenario and ledger record: one test
body per behaviour, run for each dialect in `ghoststream.protocols.DIALECTS`, read with that
dialect's own decoder through the harness."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.servers import serve_in_process
from ghoststream.protocols import DIALECTS

if TYPE_CHECKING:
    from tests.conftest import MockServer

NAMES = list(DIALECTS)
KEY = "sk-mock-dialect-key"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS: dict[str, list[dict[str, Any]]] = {
    "chat": [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}],
    "responses": [{"type": "function", "name": "get_weather", "parameters": SCHEMA}],
    "anthropic": [{"name": "get_weather", "input_schema": SCHEMA}],
}
WHOLE_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "chat": lambda body: body["choices"][0]["message"]["content"],
    "responses": lambda body: body["output"][0]["content"][0]["text"],
    "anthropic": lambda body: body["content"][0]["text"],
    "completions": lambda body: body["choices"][0]["text"],
}


def _url(root: str, name: str) -> str:
    return root + DIALECTS[name].path


def _body(
    name: str, prompt: str, stream: bool = True, limit: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The dialect's own streamed request for `prompt`, as the service would send it."""
    body = DIALECTS[name].build_request("gpt-4o-mini", [("user", prompt)], limit)
    if not stream:
        body["stream"] = False
        body.pop("stream_options", None)
    return {**body, **extra}


def _headers(name: str, **more: str) -> dict[str, str]:
    return {**DIALECTS[name].extra_headers(), **more}


def _error_type(name: str, body: dict[str, Any]) -> str:
    """The error's type, checking the body is the dialect's error shape."""
    if name == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    return str(body["error"]["type"])


@pytest.mark.parametrize("name", NAMES)
async def test_a_stream_is_read_whole_and_the_ledger_names_its_api(
    mock: MockServer, name: str
) -> None:
    headers = _headers(name, **{"X-Mock-TTFT-Ms": "20"})
    record = await timed_stream(
        _url(mock.url, name), _body(name, "[mock: tokens=7] hi"), dialect=name, headers=headers
    )
    assert record.ok and record.status == 200 and record.tokens == 7
    assert record.finish_reason == "stop"
    assert record.usage is not None and record.usage["completion_tokens"] == 7
    entry = await mock.evidence.only_request()
    assert (entry["api"], entry["outcome"], entry["tokens_sent"]) == (name, "completed", 7)
    assert entry["ttft_ms"] == 20 and entry["first_token_at"] is not None and entry["stream"]


@pytest.mark.parametrize("name", NAMES)
async def test_the_whole_answer_is_the_streamed_text(mock: MockServer, name: str) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=12] the same question"
    record = await timed_stream(
        _url(mock.url, name), _body(name, prompt), dialect=name, headers=_headers(name)
    )
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _url(mock.url, name), json=_body(name, prompt, stream=False), headers=_headers(name)
        )
    assert response.status_code == 200 and record.ok
    assert WHOLE_TEXT[name](response.json()) == record.text and record.tokens == 12
    entries = await mock.evidence.requests()
    assert [(e["api"], e["stream"]) for e in entries] == [(name, True), (name, False)]


@pytest.mark.parametrize("name", NAMES)
async def test_a_token_limit_cuts_the_answer_with_finish_reason_length(
    mock: MockServer, name: str
) -> None:
    """16 tokens: the least the Responses API accepts for `max_output_tokens`."""
    record = await timed_stream(
        _url(mock.url, name),
        _body(name, "[mock: tokens=30] hi", limit=16),
        dialect=name,
        headers=_headers(name),
    )
    assert record.ok and record.tokens == 16 and record.finish_reason == "length"
    assert (await mock.evidence.only_request())["tokens_sent"] == 16


@pytest.mark.parametrize("fault", ["http_429", "http_500", "http_503", "http_529"])
@pytest.mark.parametrize("name", NAMES)
async def test_an_http_fault_answers_in_the_dialects_error_shape(
    mock: MockServer, name: str, fault: str
) -> None:
    status = int(fault[-3:])
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _url(mock.url, name),
            json=_body(name, "hi"),
            headers=_headers(name, **{"X-Mock-Fault": fault}),
        )
    assert response.status_code == status
    assert response.json() == DIALECTS[name].error_body(status)
    _error_type(name, response.json())
    assert ("retry-after" in response.headers) == (status == 429)
    entry = await mock.evidence.only_request()
    assert (entry["api"], entry["outcome"], entry["fault"]) == (name, "fault", fault)


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("error_midstream", "fault"),
        ("drop_midstream", "fault"),
        ("malformed_midstream", "fault"),
        ("stall_midstream", "cancelled"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
async def test_a_midstream_fault_ends_the_stream_after_its_tokens(
    mock: MockServer, name: str, fault: str, outcome: str
) -> None:
    prompt = f"[mock: fault={fault} fault_after=3 ttft_ms=20 itl_ms=5] hi"
    record = await timed_stream(
        _url(mock.url, name),
        _body(name, prompt),
        dialect=name,
        headers=_headers(name),
        abort_after_s=0.4 if fault == "stall_midstream" else None,
    )
    assert record.tokens == 3 and record.terminal != "done"
    if fault == "error_midstream":
        assert record.terminal == "error" and record.terminal_data is not None
        message = record.terminal_data["message"]
        assert message == "The server had an error while processing your request."
    elif fault == "drop_midstream":
        assert record.transport_error == "connection lost before the stream ended"
    elif fault == "malformed_midstream":
        assert record.transport_error is not None
        assert record.transport_error.startswith("unreadable event")
    else:
        assert record.aborted and record.transport_error is None
    entry = await mock.evidence.only_request()
    assert (entry["api"], entry["outcome"], entry["tokens_sent"]) == (name, outcome, 3)


@pytest.mark.parametrize("name", NAMES)
async def test_slow_headers_still_completes(mock: MockServer, name: str) -> None:
    record = await timed_stream(
        _url(mock.url, name),
        _body(name, "[mock: fault=slow_headers ttft_ms=100 tokens=4] hi"),
        dialect=name,
        headers=_headers(name),
    )
    assert record.ok and record.tokens == 4
    assert record.headers_at is not None and record.headers_at - record.started_at >= 0.095
    assert (await mock.evidence.only_request())["outcome"] == "completed"


@pytest.mark.parametrize("name", sorted(TOOLS))
async def test_a_tool_call_streams_as_tool_output_in_each_dialect_with_tools(
    mock: MockServer, name: str
) -> None:
    record = await timed_stream(
        _url(mock.url, name),
        _body(name, "[mock: tool_call=auto] weather?", tools=TOOLS[name]),
        dialect=name,
        headers=_headers(name),
    )
    assert record.ok and record.tokens == 0 and record.tool_times
    assert record.finish_reason == "tool_calls"
    entry = await mock.evidence.only_request()
    assert entry["tokens_sent"] == len(record.tool_times) and entry["api"] == name


async def test_completions_refuses_a_tool_call_it_has_no_tools_for(mock: MockServer) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _url(mock.url, "completions"), json=_body("completions", "[mock: tool_call=auto] hi")
        )
    assert response.status_code == 400
    assert "offers tools" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"model": 5}', b"[]", b'{"model": "m", "max_tokens": "many"}'],
    ids=["not-json", "model-a-number", "not-an-object", "max_tokens-a-string"],
)
@pytest.mark.parametrize("name", NAMES)
async def test_a_bad_body_is_a_400_in_the_dialects_shape(
    mock: MockServer, name: str, raw: bytes
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(_url(mock.url, name), content=raw, headers=_headers(name))
    assert response.status_code == 400
    assert _error_type(name, response.json()) == "invalid_request_error"
    assert await mock.evidence.requests(0) == [], "a refused request opens no stream"


@pytest.mark.parametrize("name", NAMES)
async def test_a_body_over_the_limit_is_a_413_in_the_dialects_shape(
    mock: MockServer, name: str
) -> None:
    body = _body(name, "x" * (4 * 1024 * 1024))
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(_url(mock.url, name), json=body, headers=_headers(name))
    assert response.status_code == 413
    expected = "request_too_large" if name == "anthropic" else "invalid_request_error"
    assert _error_type(name, response.json()) == expected


async def test_anthropic_needs_its_version_header(mock: MockServer) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _url(mock.url, "anthropic"), json=_body("anthropic", "hi"), headers={}
        )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }


# -- a mock with a key and a scenario file -------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_scenario_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("dialects") / "scenarios.json"
    scenario = {"name": "greeting", "match": "hello", "text": "Hi there, friend!", "ttft_ms": 10}
    path.write_text(json.dumps({"scenarios": [scenario]}), encoding="utf-8")
    args = ["--log-level", "warning", "--api-key", KEY, "--scenarios", str(path)]
    with serve_in_process("mock_llm", [*args, "--ttft-ms", "0", "--itl-ms", "0"]) as server:
        yield server.url


@pytest.mark.parametrize("name", NAMES)
async def test_a_scenario_answers_in_every_dialect(keyed_scenario_mock: str, name: str) -> None:
    evidence = MockEvidence(keyed_scenario_mock)
    await evidence.reset()
    record = await timed_stream(
        _url(keyed_scenario_mock, name),
        _body(name, "well hello"),
        dialect=name,
        headers={**_headers(name), **DIALECTS[name].auth_headers(KEY)},
    )
    assert record.ok and record.text == "Hi there, friend!"
    entry = await evidence.only_request()
    assert (entry["api"], entry["scenario"], entry["ttft_ms"]) == (name, "greeting", 10)


@pytest.mark.parametrize("name", NAMES)
async def test_a_wrong_key_is_a_401_in_the_dialects_shape(
    keyed_scenario_mock: str, name: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _url(keyed_scenario_mock, name),
            json=_body(name, "hi"),
            headers={**_headers(name), **DIALECTS[name].auth_headers("sk-wrong")},
        )
    assert response.status_code == 401
    expected = "authentication_error" if name == "anthropic" else "invalid_request_error"
    assert _error_type(name, response.json()) == expected
