"""Each injected fault does what the README says, on the wire and in the mock's ledger."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.protocols.sse import decode_all

if TYPE_CHECKING:
    from tests.conftest import MockServer

BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]
ERROR_KEYS = {"message", "type", "param", "code"}


def _chat(mock: MockServer) -> str:
    return f"{mock.v1}/chat/completions"


def _events(record: StreamRecord) -> list[str]:
    """The `data` of every SSE event in a stream recorded in the raw dialect."""
    return [event.data for event in decode_all([record.text.encode()])]


def _content_events(datas: list[str]) -> list[str]:
    """The text of the content chunks among `datas` (which must all be JSON chunks)."""
    chunks = [json.loads(data) for data in datas]
    return [
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if c["choices"][0]["delta"].get("content")
    ]


@pytest.mark.parametrize(
    ("fault", "status", "type", "code"),
    [
        pytest.param("http_429", 429, "requests", "rate_limit_exceeded", id="http_429"),
        pytest.param("http_500", 500, "server_error", None, id="http_500"),
        pytest.param("http_503", 503, "server_error", None, id="http_503"),
    ],
)
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "not-streamed"])
async def test_an_http_fault_answers_with_its_status_and_openais_error_body(
    mock: MockServer, fault: str, status: int, type: str, code: str | None, stream: bool
) -> None:
    body: dict[str, Any] = openai_body(f"[mock: fault={fault}] hi", stream=stream)
    if not stream:
        del body["stream_options"]
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(_chat(mock), json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and (error["type"], error["code"]) == (type, code)
    assert ("retry-after" in response.headers) == (status == 429)
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["fault"], entry["tokens_sent"]) == ("fault", fault, 0)


@pytest.mark.parametrize(
    ("prompt", "headers", "retry_after", "retry_after_ms"),
    [
        ("hi", {}, "1", "1000"),
        ("[mock: retry_after_ms=2500] hi", {}, "3", "2500"),
        ("[mock: retry_after_ms=0] hi", {}, "0", "0"),
        ("hi", {"X-Mock-Retry-After-Ms": "120"}, "1", "120"),
    ],
    ids=["default-1s", "directive-2500ms-rounds-up", "zero", "header-120ms"],
)
async def test_a_429_says_when_to_retry(
    mock: MockServer,
    prompt: str,
    headers: dict[str, str],
    retry_after: str,
    retry_after_ms: str,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _chat(mock), json=openai_body(prompt), headers={"X-Mock-Fault": "http_429", **headers}
        )
    assert response.status_code == 429
    assert response.headers["retry-after"] == retry_after
    assert response.headers["retry-after-ms"] == retry_after_ms
    assert response.headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize("after", [0, 3], ids=["before-any-token", "after-3-tokens"])
async def test_error_midstream_sends_an_error_event_and_no_done(
    mock: MockServer, after: int
) -> None:
    prompt = f"[mock: fault=error_midstream fault_after={after}] hi"
    record = await timed_stream(_chat(mock), openai_body(prompt), dialect="raw")
    assert record.status == 200 and record.transport_error is None
    *chunks, last = _events(record)
    assert len(_content_events(chunks)) == after
    assert json.loads(chunks[0])["choices"][0]["delta"]["role"] == "assistant"
    error = json.loads(last)["error"]
    assert set(error) == ERROR_KEYS and error["type"] == "server_error" and error["message"]
    assert "[DONE]" not in record.text and '"finish_reason":"stop"' not in record.text
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["tokens_sent"]) == ("fault", after)


async def test_drop_midstream_closes_the_connection_with_no_terminator(mock: MockServer) -> None:
    prompt = "[mock: fault=drop_midstream fault_after=3] hi"
    record = await timed_stream(_chat(mock), openai_body(prompt), dialect="raw")
    assert record.transport_error == "connection lost before the stream ended"
    datas = _events(record)
    assert len(_content_events(datas)) == 3 and "[DONE]" not in datas
    assert record.text.endswith("\n\n"), "the drop comes between events, not inside one"
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["tokens_sent"]) == ("fault", 3)


async def test_malformed_midstream_sends_an_event_that_is_not_json(mock: MockServer) -> None:
    prompt = "[mock: fault=malformed_midstream fault_after=3] hi"
    record = await timed_stream(_chat(mock), openai_body(prompt), dialect="raw")
    assert record.transport_error is None and record.terminal == "done", "the body ends cleanly"
    *chunks, last = _events(record)
    assert len(_content_events(chunks)) == 3 and last.startswith('{"id":"chatcmpl-')
    with pytest.raises(json.JSONDecodeError):
        json.loads(last)
    assert "[DONE]" not in record.text
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["tokens_sent"]) == ("fault", 3)


async def test_stall_midstream_sends_nothing_more_until_the_client_leaves(
    mock: MockServer,
) -> None:
    """The client waits 0.5 s in all; the 3 tokens are due within 0.07 s, then silence."""
    prompt = "[mock: fault=stall_midstream fault_after=3 ttft_ms=50 itl_ms=5] hi"
    record = await timed_stream(_chat(mock), openai_body(prompt), dialect="raw", abort_after_s=0.5)
    assert record.aborted and record.transport_error is None and record.ended_at is not None
    assert len(_content_events(_events(record))) == 3
    assert record.ended_at - record.token_times[-1] >= 0.25, "bytes arrived during the stall"
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["tokens_sent"]) == ("cancelled", 3)


async def test_slow_headers_holds_the_response_headers_for_the_ttft(
    mock: MockServer, best_of: BestOf
) -> None:
    prompt = "[mock: fault=slow_headers ttft_ms=300 itl_ms=5 tokens=5] hi"

    async def attempt() -> list[str]:
        await mock.evidence.reset()
        record = await timed_stream(_chat(mock), openai_body(prompt), dialect="chat")
        assert record.ok and record.tokens == 5
        assert record.headers_at is not None and record.ttft is not None
        headers_after = record.headers_at - record.started_at
        assert headers_after >= 0.295, f"headers after {headers_after:.3f} s"
        entry = await mock.evidence.only_request()
        assert (entry["outcome"], entry["fault"]) == ("completed", "slow_headers")
        return [] if record.ttft - headers_after <= 0.030 else ["first token long after headers"]

    await best_of(attempt)


async def test_a_fault_asked_for_after_the_last_token_comes_at_the_end(mock: MockServer) -> None:
    prompt = "[mock: fault=error_midstream fault_after=50 tokens=5] hi"
    record = await timed_stream(_chat(mock), openai_body(prompt), dialect="chat")
    assert record.tokens == 5 and record.terminal == "error"
    assert record.terminal_data is not None and record.terminal_data["type"] == "server_error"
    entry = await mock.evidence.only_request()
    assert (entry["outcome"], entry["tokens_sent"]) == ("fault", 5)


async def test_midstream_faults_leave_a_non_streamed_answer_whole(mock: MockServer) -> None:
    """Documented: only streams can break midway; `stream: false` gets the whole answer."""
    body = openai_body("[mock: fault=drop_midstream fault_after=2 tokens=6] hi", stream=False)
    del body["stream_options"]
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(_chat(mock), json=body)
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] == 6
    assert (await mock.evidence.only_request())["outcome"] == "completed"


@pytest.mark.parametrize(
    ("fault", "abort_after_s", "outcome", "sent"),
    [
        pytest.param("http_429", None, "fault", 0, id="http_429-is-a-fault"),
        pytest.param("http_500", None, "fault", 0, id="http_500-is-a-fault"),
        pytest.param("http_503", None, "fault", 0, id="http_503-is-a-fault"),
        pytest.param("error_midstream", None, "fault", 2, id="error_midstream-is-a-fault"),
        pytest.param("drop_midstream", None, "fault", 2, id="drop_midstream-is-a-fault"),
        pytest.param("malformed_midstream", None, "fault", 2, id="malformed_midstream-is-a-fault"),
        pytest.param("stall_midstream", 0.3, "cancelled", 2, id="an-abandoned-stall-is-cancelled"),
        pytest.param("slow_headers", None, "completed", 20, id="slow_headers-completes"),
    ],
)
async def test_every_fault_leaves_its_outcome_in_the_ledger(
    mock: MockServer, fault: str, abort_after_s: float | None, outcome: str, sent: int
) -> None:
    headers = {"X-Mock-Fault": fault, "X-Mock-Fault-After": "2", "X-Mock-TTFT-Ms": "20"}
    record = await timed_stream(
        _chat(mock),
        openai_body("hi"),
        dialect="chat",
        headers=headers,
        abort_after_s=abort_after_s,
    )
    assert record.tokens == sent
    entry = await mock.evidence.only_request()
    assert (entry["fault"], entry["outcome"], entry["tokens_sent"]) == (fault, outcome, sent)
    stats = await mock.evidence.stats()
    counter = {"fault": "faulted", "cancelled": "cancelled", "completed": "completed"}[outcome]
    assert stats[counter] == 1 and stats["open"] == 0
