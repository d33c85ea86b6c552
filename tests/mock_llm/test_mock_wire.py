"""OpenAI's wire format without sockets: every frame is one SSE event of valid, OpenAI-shaped JSON.

Shapes are checked against the `openai` SDK's own pydantic models as well as field by field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from mock_llm import wire
from service.sse import decode_all

CHUNK_KEYS = {"id", "object", "created", "model", "service_tier", "system_fingerprint", "choices"}


def _event(frame: bytes) -> dict[str, Any]:
    """The JSON of a frame that must hold exactly one `data:` event."""
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    events = list(decode_all([frame]))
    assert len(events) == 1 and events[0].event == "message"
    body = json.loads(events[0].data)
    assert isinstance(body, dict)
    return body


def _writer(include_usage: bool = True, model: str = "gpt-4o-mini") -> wire.ChunkWriter:
    return wire.ChunkWriter("chatcmpl-abc", 1_700_000_000, model, include_usage)


@pytest.mark.parametrize("include_usage", [True, False], ids=["with-usage", "without-usage"])
def test_role_content_and_finish_chunks_are_shaped_like_openai(include_usage: bool) -> None:
    writer = _writer(include_usage)
    role, piece, finish = (
        _event(writer.role()),
        _event(writer.content(" word")),
        _event(writer.finish("length")),
    )
    for chunk in (role, piece, finish):
        ChatCompletionChunk.model_validate(chunk)
        assert set(chunk) == CHUNK_KEYS | ({"usage"} if include_usage else set())
        assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == "chatcmpl-abc"
        assert chunk["created"] == 1_700_000_000 and chunk["model"] == "gpt-4o-mini"
        assert chunk.get("usage", None) is None
        assert len(chunk["choices"]) == 1 and chunk["choices"][0]["index"] == 0
        assert chunk["choices"][0]["logprobs"] is None
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert role["choices"][0]["finish_reason"] is None
    assert piece["choices"][0]["delta"] == {"content": " word"}
    assert piece["choices"][0]["finish_reason"] is None
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "length",
    }


def test_usage_chunk_has_no_choices_and_adds_up() -> None:
    chunk = _event(_writer().usage(12, 30))
    ChatCompletionChunk.model_validate(chunk)
    assert chunk["choices"] == []
    usage = chunk["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        12,
        30,
        42,
    )
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        "back\\slash",
        "line\nbreak\r\nand\ttab",
        "héllo 👋 世界 \u2028 \u0000",
        "</script><img src=x onerror=alert(1)>",
        "data: [DONE]\n\n",
        "lone \ud800 surrogate",
    ],
    ids=[
        "quotes",
        "backslash",
        "control-characters",
        "unicode",
        "markup",
        "fake-frame",
        "surrogate",
    ],
)
def test_any_piece_of_text_round_trips_through_a_content_chunk(text: str) -> None:
    frame = _writer().content(text)
    assert frame.count(b"\n\n") == 1, "the text must not break the SSE framing"
    assert _event(frame)["choices"][0]["delta"]["content"] == text


def test_a_model_name_is_json_escaped() -> None:
    chunk = _event(_writer(model='odd "model"\nname').role())
    assert chunk["model"] == 'odd "model"\nname'


def test_done_is_the_openai_terminator() -> None:
    assert [event.data for event in decode_all([wire.DONE])] == ["[DONE]"]


def test_completion_is_a_whole_chat_completion() -> None:
    body = wire.completion("chatcmpl-abc", 1_700_000_000, "m", "Hello there", "stop", 5, 2)
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].message.content == "Hello there"
    assert parsed.choices[0].message.role == "assistant"
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.usage is not None and parsed.usage.total_tokens == 7
    assert body["object"] == "chat.completion" and json.loads(json.dumps(body)) == body


def test_completion_ids_look_like_openai_ones_and_do_not_repeat() -> None:
    ids = {wire.completion_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        assert value.startswith("chatcmpl-") and len(value) == len("chatcmpl-") + 29
        assert value[9:].isalnum()


def test_error_bodies_have_openais_four_fields() -> None:
    assert wire.error_body("m", "t", "c", "p") == {
        "error": {"message": "m", "type": "t", "param": "p", "code": "c"}
    }
    assert wire.invalid_request("bad", "model")["error"] == {
        "message": "bad",
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }


def test_an_in_stream_error_is_one_data_event_with_an_error_object() -> None:
    body = _event(wire.error_event("boom"))
    assert body == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }


@pytest.mark.parametrize(
    ("fault", "status", "type", "code"),
    [
        ("http_429", 429, "requests", "rate_limit_exceeded"),
        ("http_500", 500, "server_error", None),
        ("http_503", 503, "server_error", None),
    ],
)
def test_http_fault_bodies_are_worded_as_the_real_api(
    fault: str, status: int, type: str, code: str | None
) -> None:
    got_status, body = wire.HTTP_FAULT_BODIES[fault]
    assert got_status == status
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["type"], body["error"]["code"]) == (type, code)
    assert body["error"]["message"].endswith(".") or body["error"]["message"].endswith("!")
