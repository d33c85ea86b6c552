"""What the mock says: deterministic prose, the same streamed or not, and exact echoes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.servers import serve_in_process

if TYPE_CHECKING:
    from tests.conftest import MockServer

FAST = "[mock: ttft_ms=0 itl_ms=0] "


def _chat(url: str) -> str:
    return f"{url}/v1/chat/completions"


async def _streamed(url: str, prompt: str, headers: dict[str, str] | None = None) -> list[str]:
    """The content pieces of a streamed answer, as sent."""
    record = await timed_stream(_chat(url), openai_body(prompt), dialect="chat", headers=headers)
    assert record.ok, record
    return record.texts


async def _whole(url: str, prompt: str) -> str:
    body: dict[str, Any] = openai_body(prompt, stream=False)
    del body["stream_options"]
    async with httpx.AsyncClient(timeout=10) as client:
        payload = json.dumps(body).encode()
        response = await client.post(
            _chat(url), content=payload, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content


async def test_the_same_request_gets_byte_identical_pieces(mock: MockServer) -> None:
    first = await _streamed(mock.url, FAST + "tell me a story")
    second = await _streamed(mock.url, FAST + "tell me a story")
    assert first == second and len(first) == 20


async def test_seeds_and_conversations_change_the_answer(mock: MockServer) -> None:
    base = await _streamed(mock.url, FAST + "tell me a story")
    by_header = await _streamed(mock.url, FAST + "tell me a story", {"X-Mock-Seed": "1"})
    by_directive = await _streamed(mock.url, "[mock: ttft_ms=0 itl_ms=0 seed=1] tell me a story")
    other_prompt = await _streamed(mock.url, FAST + "tell me a poem")
    assert len({tuple(base), tuple(by_header), tuple(other_prompt)}) == 3
    assert by_header != by_directive, "the directive is part of the conversation it hashes"


async def test_streamed_text_equals_the_non_streamed_text(mock: MockServer) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=200 seed=9] a long answer"
    assert "".join(await _streamed(mock.url, prompt)) == await _whole(mock.url, prompt)


async def test_answers_are_the_same_from_another_mock_process(mock: MockServer) -> None:
    """Seeded by a stable hash, not Python's per-process `hash()`: a rerun gets the same text."""
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=30 seed=5] same everywhere"
    args = ["--log-level", "warning", "--ttft-ms", "999", "--tokens", "3", "--seed", "8"]
    with serve_in_process("mock_llm", args) as other:
        elsewhere = await _whole(other.url, prompt)
    assert elsewhere == await _whole(mock.url, prompt)


ECHOES = [
    pytest.param("plain words", id="plain"),
    pytest.param("héllo 👋 世界 ünïcödé \u2028 done", id="unicode"),
    pytest.param("first\n\n\nafter blank lines\n", id="blank-lines"),
    pytest.param("windows\r\nline\r\nendings\r\n", id="crlf"),
    pytest.param("  leading and trailing spaces\t ", id="edge-whitespace"),
    pytest.param("<img src=x onerror=alert(1)></script>&amp;", id="markup"),
    pytest.param('{"json": "looking", "data": "[DONE]"}\n\ndata: [DONE]\n\n', id="wire-lookalikes"),
    pytest.param("a" * 50 + " " + "b" * 7, id="long-word"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", ECHOES)
async def test_echo_returns_the_last_user_message_exactly(mock: MockServer, text: str) -> None:
    prompt = "[mock: mode=echo ttft_ms=0 itl_ms=0] " + text
    assert "".join(await _streamed(mock.url, prompt)) == text
    assert await _whole(mock.url, prompt) == text


async def test_echo_by_header_leaves_the_prompt_alone(mock: MockServer) -> None:
    text = "no directive [here] at all"
    pieces = await _streamed(mock.url, text, {"X-Mock-Mode": "echo", "X-Mock-TTFT-Ms": "0"})
    assert "".join(pieces) == text
    entry = (await mock.evidence.requests())[-1]
    assert (entry["mode"], entry["tokens_planned"], entry["tokens_sent"]) == ("echo", 5, 5)


async def test_a_lone_surrogate_is_refused_not_echoed(mock: MockServer) -> None:
    """JSON can escape half a surrogate pair, which no UTF-8 encoder downstream can write: the
    mock refuses it as unparseable JSON rather than pass it on."""
    body = json.dumps(openai_body("[mock: mode=echo] lone \ud800 surrogate")).encode()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            _chat(mock.url), content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert await mock.evidence.requests() == []
