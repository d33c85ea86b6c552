"""The mock's HTTP surface: OpenAI-style 400s (never a 500), 404s, and the evidence endpoints."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ghoststream.harness.client import openai_body

if TYPE_CHECKING:
    from tests.conftest import MockServer

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def http(mock: MockServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock.url, timeout=10) as client:
        yield client


def _assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    return error


BAD_BODIES = [
    pytest.param(b'{"model": "m", "messages": [', None, "could not parse the JSON", id="bad-json"),
    pytest.param(b"\xff\xfe not utf-8", None, "could not parse the JSON", id="not-utf8"),
    pytest.param([USER], None, "must be a JSON object", id="body-not-an-object"),
    pytest.param({"model": "m"}, "messages", "Missing required parameter", id="no-messages"),
    pytest.param({"model": "m", "messages": []}, "messages", "non-empty", id="empty-messages"),
    pytest.param({"messages": USER}, "model", "provide a model", id="no-model"),
    pytest.param({"model": "", "messages": USER}, "model", "provide a model", id="empty-model"),
    pytest.param(
        {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
        "messages[0].role",
        "Invalid value",
        id="bad-role",
    ),
    pytest.param({"model": "m", "messages": ["hi"]}, "messages[0]", "Invalid type", id="bad-msg"),
    pytest.param(
        {"model": "m", "messages": [{"role": "user", "content": 5}]},
        "messages[0].content",
        "Invalid type",
        id="bad-content",
    ),
    pytest.param(
        {"model": "m", "messages": [{"role": "user", "content": [{"text": "no type"}]}]},
        "messages[0].content",
        "Invalid content part",
        id="bad-content-part",
    ),
    pytest.param(
        {"model": "m", "messages": USER, "stream_options": {"include_usage": True}},
        "stream_options",
        "only allowed when 'stream' is enabled",
        id="stream-options-without-stream",
    ),
    pytest.param(
        {"model": "m", "messages": USER, "stream": True, "stream_options": True},
        "stream_options",
        "Invalid type",
        id="stream-options-not-an-object",
    ),
    pytest.param({"model": "m", "messages": USER, "stream": "yes"}, "stream", "boolean", id="str"),
    pytest.param({"model": "m", "messages": USER, "n": 2}, "n", "one choice", id="n-2"),
    pytest.param(
        {"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens", "minimum", id="0"
    ),
    pytest.param(
        {"model": "m", "messages": USER, "max_completion_tokens": "5"},
        "max_completion_tokens",
        "expected an integer",
        id="max-completion-tokens-a-string",
    ),
]


@pytest.mark.parametrize(("body", "param", "message"), BAD_BODIES)
async def test_a_bad_body_is_a_400_naming_the_parameter(
    http: httpx.AsyncClient, mock: MockServer, body: Any, param: str | None, message: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await http.post("/v1/chat/completions", content=raw)
    error = _assert_openai_error(response, 400)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, None)
    assert message in error["message"]
    assert await mock.evidence.requests(wait_until_closed=0) == [], "a 400 is not a stream"


@pytest.mark.parametrize(
    ("prompt", "headers", "message"),
    [
        ("[mock: fault=http_418] hi", {}, "unknown fault 'http_418'"),
        ("[mock: ttft_ms=-1] hi", {}, "ttft_ms=-1 is out of range"),
        ("[mock: tokens=many] hi", {}, "tokens must be a number"),
        ("[mock: colour=blue] hi", {}, "unknown mock control 'colour'"),
        ("[mock: ttft_ms] hi", {}, "is not key=value"),
        ("[mock: mode=fixed] hi", {}, "mode=fixed needs a scenario"),
        ("[mock: scenario=nope] hi", {}, "unknown mock scenario 'nope'"),
        ("hi", {"X-Mock-ITL-Ms": "soon"}, "itl_ms must be a number"),
        ("hi", {"X-Mock-Mode": "poetry"}, "unknown mode 'poetry'"),
    ],
    ids=[
        "unknown-fault",
        "negative-ttft",
        "tokens-not-a-number",
        "unknown-control",
        "item-not-key-value",
        "fixed-without-scenario",
        "unknown-scenario",
        "bad-header-number",
        "bad-header-mode",
    ],
)
async def test_a_bad_control_is_a_400(
    http: httpx.AsyncClient, prompt: str, headers: dict[str, str], message: str
) -> None:
    response = await http.post("/v1/chat/completions", json=openai_body(prompt), headers=headers)
    error = _assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error" and message in error["message"]


async def test_a_body_over_the_limit_is_a_413(http: httpx.AsyncClient) -> None:
    """The limit is 4 MiB; one byte over is refused once it has all been read."""
    padding = "x" * (4 * 1024 * 1024)
    response = await http.post("/v1/chat/completions", json=openai_body(padding))
    error = _assert_openai_error(response, 413)
    assert "over 4194304 bytes" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nothing-here"), ("GET", "/v1/chat/completions"), ("POST", "/v1/models")],
)
async def test_an_unknown_route_is_an_openai_style_error(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path)
    assert response.status_code in (404, 405)
    error = _assert_openai_error(response, response.status_code)
    assert error["message"] == f"Invalid URL ({method} {path})"
    assert error["type"] == "invalid_request_error"


async def test_models_can_be_listed_and_fetched(http: httpx.AsyncClient) -> None:
    listing = (await http.get("/v1/models")).json()
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["gpt-4o-mini"]
    one = (await http.get("/v1/models/my-fine-tune")).json()
    assert (one["id"], one["object"]) == ("my-fine-tune", "model")


async def test_healthz(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}


async def test_a_request_id_is_recorded_and_echoed(
    http: httpx.AsyncClient, mock: MockServer
) -> None:
    body = openai_body("[mock: ttft_ms=0 itl_ms=0] hi")
    response = await http.post("/v1/chat/completions", json=body, headers={"X-Request-Id": "r-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "r-42"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text.endswith("data: [DONE]\n\n")
    entry = await mock.evidence.only_request()
    assert entry["request_id"] == "r-42" and entry["outcome"] == "completed"
    assert entry["first_token_at"] >= entry["started_at"] and entry["ended_at"] is not None


async def test_reset_forgets_streams_and_zeroes_counters(
    http: httpx.AsyncClient, mock: MockServer
) -> None:
    await http.post("/v1/chat/completions", json=openai_body("[mock: ttft_ms=0 itl_ms=0] hi"))
    assert (await mock.evidence.stats())["completed"] == 1
    assert len(await mock.evidence.requests()) == 1
    assert (await http.post("/mock/reset")).json() == {"reset": True}
    assert await mock.evidence.requests() == []
    assert set((await mock.evidence.stats()).values()) == {0}


async def test_requests_long_polls_until_every_stream_has_closed(
    http: httpx.AsyncClient, mock: MockServer
) -> None:
    """While a stream is stalled `all_closed` is false; once its client leaves, true."""
    body = openai_body("[mock: fault=stall_midstream fault_after=1 ttft_ms=0] hi")
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        chunks = response.aiter_bytes()  # held: a dropped iterator would close the stream
        received = b""
        while b'"content":"' not in received.replace(b'"content":""', b""):
            received += await anext(chunks)  # until the first token: open, then stalled
        waiting = (await http.get("/mock/requests", params={"wait_until_closed": 0.2})).json()
        assert waiting["all_closed"] is False
        assert [entry["outcome"] for entry in waiting["requests"]] == ["open"]
        assert (await mock.evidence.stats())["open"] == 1
        await chunks.aclose()
    done = (await http.get("/mock/requests", params={"wait_until_closed": 5})).json()
    assert done["all_closed"] is True and isinstance(done["now"], float)
    assert [entry["outcome"] for entry in done["requests"]] == ["cancelled"]


@pytest.mark.parametrize("wait", ["-1", "301", "soon"])
async def test_a_bad_wait_is_refused_not_a_500(http: httpx.AsyncClient, wait: str) -> None:
    response = await http.get("/mock/requests", params={"wait_until_closed": wait})
    assert 400 <= response.status_code < 500


async def test_without_an_api_key_configured_any_key_or_none_is_accepted(
    http: httpx.AsyncClient,
) -> None:
    body = openai_body("[mock: ttft_ms=0 itl_ms=0] hi")
    plain = await http.post("/v1/chat/completions", json=body)
    keyed = await http.post(
        "/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-whatever"}
    )
    assert plain.status_code == keyed.status_code == 200
