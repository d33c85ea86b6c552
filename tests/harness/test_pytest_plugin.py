"""The pytest plugin as a stranger uses it: the fixtures arrive through the entry point, not
through this repo's conftest."""

from __future__ import annotations

import pytest

from ghoststream.harness.assertions import (
    assert_completed,
    assert_ttft_within,
    assert_upstream_cancelled,
)
from ghoststream.harness.client import api_request, openai_body, timed_stream
from ghoststream.harness.records import StreamRecord
from ghoststream.protocols import decoder_for
from ghoststream.pytest_plugin import MockLLM, MockLLMApp


async def ask(mock: MockLLM, prompt: str = "hello", **kwargs: object) -> StreamRecord:
    request = api_request("chat", mock.base_url, prompt, key="sk-test-SECRET")
    headers = {**request.headers, "X-Request-ID": "req-plugin-1"}
    return await timed_stream(
        request.url,
        request.body,
        dialect="chat",
        headers=headers,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_the_ledger_shows_what_the_caller_sent_without_its_key(mock_llm: MockLLM) -> None:
    record = await ask(mock_llm, "what did I send?")
    assert_completed(record)
    [upstream] = mock_llm.requests()
    assert upstream["outcome"] == "completed"
    assert upstream["request_id"] == "req-plugin-1"
    assert upstream["request_body"]["messages"] == [{"role": "user", "content": "what did I send?"}]
    assert upstream["request_headers"]["authorization"] == "[redacted]"
    assert "SECRET" not in str(upstream)


@pytest.mark.mock_llm(ttft_ms=400)
async def test_a_marker_sets_the_schedule_for_one_test(mock_llm: MockLLM) -> None:
    record = await ask(mock_llm)
    assert_ttft_within(record, 380, 5000)
    [upstream] = mock_llm.requests()
    assert upstream["ttft_ms"] == 400


async def test_the_next_test_is_back_on_the_default_schedule(mock_llm: MockLLM) -> None:
    await ask(mock_llm)
    [upstream] = mock_llm.requests()
    assert upstream["ttft_ms"] == 50


@pytest.mark.mock_llm(fault="http_503")
async def test_a_marker_injects_a_fault(mock_llm: MockLLM) -> None:
    record = await ask(mock_llm)
    assert record.status == 503
    assert [r["outcome"] for r in mock_llm.requests()] == ["fault"]


async def test_scenarios_from_python_objects_match_on_the_prompt(mock_llm: MockLLM) -> None:
    mock_llm.use({"name": "greeting", "match": "hello", "text": "Hi there!"}, tokens=3)
    greeted, other = await ask(mock_llm, "hello you"), await ask(mock_llm, "other")
    assert greeted.text == "Hi there!"
    assert other.tokens == 3


@pytest.mark.mock_llm(tokens=500, itl_ms=10)
async def test_the_upstream_is_cancelled_when_the_client_leaves(mock_llm: MockLLM) -> None:
    record = await ask(mock_llm, abort_after_tokens=3)
    [upstream] = mock_llm.requests()
    assert_upstream_cancelled(record, upstream, within_ms=1000)
    assert upstream["tokens_sent"] < 500


@pytest.mark.mock_llm(text="in process")
async def test_the_in_process_mock_needs_no_socket(mock_llm_app: MockLLMApp) -> None:
    async with mock_llm_app.client() as client:
        response = await client.post("/v1/chat/completions", json=openai_body("hi"))
    assert response.status_code == 200
    decoder = decoder_for("chat")
    assert "".join(decoder.feed(response.content)) == "in process" and decoder.done
    [upstream] = mock_llm_app.requests()
    assert upstream["outcome"] == "completed"
