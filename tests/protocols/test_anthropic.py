"""Anthropic Messages without sockets: every event the writer makes is one named SSE event the
`anthropic` SDK's own models accept, in the live API's order; the decoder reads them back, and
reads anything else as a failure, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from pydantic import TypeAdapter

from ghoststream.protocols.anthropic import DIALECT, MessageEventWriter
from ghoststream.protocols.dialect import (
    Answer,
    FinishReason,
    GenerationRequest,
    InvalidRequest,
    ToolCall,
)
from ghoststream.protocols.sse import decode_all

EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
VERSION = {"anthropic-version": "2023-06-01"}
TOOL = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _parse(**body: Any) -> GenerationRequest:
    full = {"model": "claude-x", "max_tokens": 100, **body}
    full.setdefault("messages", [{"role": "user", "content": "hi"}])
    return DIALECT.parse_request(json.dumps(full).encode(), VERSION)


def _writer() -> MessageEventWriter:
    return DIALECT.writer("msg_01abc", 1_700_000_000, _parse(stream=True))


def _events(body: bytes) -> list[dict[str, Any]]:
    """Each event's data, after checking its `event:` name is its `type`."""
    out = []
    for event in decode_all([body]):
        data = json.loads(event.data)
        assert event.event == data["type"]
        out.append(data)
    return out


def _text_stream(texts: list[str], reason: FinishReason = "stop") -> bytes:
    writer = _writer()
    frames = writer.start() + b"".join(writer.text(t) for t in texts)
    return frames + writer.finish(reason, 5, len(texts))


def test_a_text_answer_is_the_live_apis_event_sequence() -> None:
    body = _text_stream(["Hel", "lo"])
    events = _events(body)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert b'data: {"type": "ping"}\n\n' in body, "the API spaces its ping"
    for event in events:
        if event["type"] != "ping":
            EVENTS.validate_python(event)
    message = Message.model_validate(events[0]["message"])
    assert message.content == [] and message.stop_reason is None
    assert message.usage.input_tokens == 1 and message.usage.output_tokens == 1
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert events[3]["delta"] == {"type": "text_delta", "text": "Hel"}
    assert events[6]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[6]["usage"]["output_tokens"] == 2 and events[6]["usage"]["input_tokens"] == 5


@pytest.mark.parametrize(
    ("reason", "stop_reason"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use")],
)
def test_finish_reasons_are_anthropics_stop_reasons_and_read_back(
    reason: FinishReason, stop_reason: str
) -> None:
    body = _text_stream(["a"], reason)
    assert _events(body)[-2]["delta"]["stop_reason"] == stop_reason
    decoder = DIALECT.decoder()
    decoder.feed(body)
    assert decoder.done and decoder.finish_reason == reason


def test_a_tool_call_is_a_tool_use_block_with_input_json_deltas() -> None:
    writer = _writer()
    call = ToolCall("toolu_01abc", "get_weather", '{"city":"Paris"}')
    body = writer.start() + writer.tool_call(call)
    body += writer.tool_arguments('{"city"') + writer.tool_arguments(':"Paris"}')
    body += writer.finish("tool_calls", 5, 2)
    events = _events(body)
    for event in events:
        if event["type"] != "ping":
            EVENTS.validate_python(event)
    assert events[1]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_01abc",
        "name": "get_weather",
        "input": {},
    }
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert deltas[0] == {"type": "input_json_delta", "partial_json": ""}, "as the API opens one"
    assert "".join(d["partial_json"] for d in deltas) == call.arguments
    decoder = DIALECT.decoder()
    assert decoder.feed(body) == []
    assert decoder.tool_deltas == 2 and decoder.finish_reason == "tool_calls"


def test_text_then_a_tool_call_are_two_blocks() -> None:
    writer = _writer()
    body = writer.start() + writer.text("Let me look.")
    body += writer.tool_call(ToolCall("toolu_1", "f", "{}")) + writer.tool_arguments("{}")
    body += writer.finish("tool_calls", 1, 2)
    events = _events(body)
    starts = [e["index"] for e in events if e["type"] == "content_block_start"]
    stops = [e["index"] for e in events if e["type"] == "content_block_stop"]
    assert starts == stops == [0, 1]
    assert [e["type"] for e in events].count("ping") == 1


def test_an_empty_answer_is_one_empty_text_block() -> None:
    events = _events(_text_stream([]))
    assert [e["type"] for e in events][1:4] == ["content_block_start", "ping", "content_block_stop"]


def test_an_error_mid_stream_is_an_error_event_with_anthropics_error_body() -> None:
    writer = _writer()
    body = writer.start() + writer.text("a") + writer.error_event("boom")
    last = list(decode_all([body]))[-1]
    assert last.event == "error"
    parsed = ErrorResponse.model_validate(json.loads(last.data))
    assert (parsed.error.type, parsed.error.message) == ("api_error", "boom")
    decoder = DIALECT.decoder()
    assert decoder.feed(body) == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "error"
    assert decoder.failure.detail == "boom"


@pytest.mark.parametrize("size", [1, 3, 64, 10_000], ids=lambda n: f"read size {n}")
def test_the_decoder_gives_the_texts_back_whole_whatever_the_read_size(size: int) -> None:
    texts = ["Hé", " there", "\n\n", " 東京", ' "quoted"']
    body = _text_stream(texts)
    decoder = DIALECT.decoder()
    out: list[str] = []
    for start in range(0, len(body), size):
        out.extend(decoder.feed(body[start : start + size]))
    assert out == texts
    assert decoder.done and decoder.finish_reason == "stop"
    assert decoder.usage == {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}


def test_usage_without_input_tokens_in_message_delta_takes_message_starts() -> None:
    """The API's older `message_delta` carried `output_tokens` alone."""
    start = _writer().start()
    delta = b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
    delta += b'"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}\n\n'
    decoder = DIALECT.decoder()
    decoder.feed(start + delta)
    assert decoder.usage == {"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10}


def test_a_malformed_event_fails_the_stream_as_malformed() -> None:
    writer = _writer()
    decoder = DIALECT.decoder()
    assert decoder.feed(writer.start() + writer.text("a") + writer.malformed()) == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        '"text"',
        "{}",
        '{"type": ["message_stop"]}',
        '{"type": "content_block_delta", "index": 0, "delta": "x"}',
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 1}}',
        '{"type": "content_block_delta", "delta": {"type": "input_json_delta", "partial_json": 1}}',
        '{"type": "message_start", "message": {"usage": {"input_tokens": "5"}}}',
        '{"type": "message_delta", "delta": {"stop_reason": 5}, "usage": {"output_tokens": 1}}',
        '{"type": "message_delta", "delta": {"stop_reason": "END TURN"}, "usage": {}}',
        '{"type": "message_delta", "delta": {}, "usage": {"output_tokens": -1}}',
    ],
    ids=[
        "invalid JSON",
        "a string",
        "no type",
        "type a list",
        "delta a string",
        "text a number",
        "partial_json an object",
        "input_tokens a string",
        "stop_reason a number",
        "stop_reason not a word",
        "output_tokens negative",
    ],
)
def test_events_of_the_wrong_shape_are_malformed(data: str) -> None:
    decoder = DIALECT.decoder()
    assert decoder.feed(f"event: x\ndata: {data}\n\n".encode()) == []
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_a_whole_message_is_what_the_sdk_reads() -> None:
    answer = Answer("msg_01x", 1, "Hello", [], "length", 5, 7)
    parsed = Message.model_validate(DIALECT.whole(_parse(), answer))
    assert parsed.stop_reason == "max_tokens" and parsed.role == "assistant"
    assert [block.type for block in parsed.content] == ["text"]
    assert parsed.usage.input_tokens == 5 and parsed.usage.output_tokens == 7


def test_a_whole_tool_call_is_a_tool_use_block_with_parsed_input() -> None:
    call = ToolCall("toolu_01x", "get_weather", '{"city":"Oslo"}')
    body = DIALECT.whole(_parse(tools=[TOOL]), Answer("msg_01x", 1, "", [call], "tool_calls", 5, 3))
    parsed = Message.model_validate(body)
    assert parsed.stop_reason == "tool_use"
    assert body["content"] == [
        {"type": "tool_use", "id": "toolu_01x", "name": "get_weather", "input": {"city": "Oslo"}}
    ]


def test_system_and_content_blocks_are_read_as_text() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f"}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t", "content": "sunny"}],
        },
    ]
    request = _parse(system=[{"type": "text", "text": "sys"}], messages=messages)
    assert request.messages == (
        ("system", "sys"),
        ("user", "a"),
        ("assistant", ""),
        ("user", "sunny"),
    )
    assert _parse(system="plain").messages[0] == ("system", "plain")


@pytest.mark.parametrize(
    ("choice", "read"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, "get_weather"),
    ],
)
def test_tool_choice_is_read_in_the_mocks_words(choice: dict[str, str], read: str) -> None:
    request = _parse(tools=[TOOL], tool_choice=choice)
    assert request.tool_choice == read and request.tools[0].parameters == TOOL["input_schema"]


def test_a_built_request_parses_back_to_its_messages() -> None:
    body = DIALECT.build_request("m", [("system", "be kind"), ("user", "hi")], max_tokens=9)
    assert body["system"] == "be kind" and body["max_tokens"] == 9
    request = DIALECT.parse_request(json.dumps(body).encode(), DIALECT.extra_headers())
    assert request.messages == (("system", "be kind"), ("user", "hi")) and request.stream
    assert DIALECT.build_request("m", [("user", "hi")])["max_tokens"] > 0, "required by the API"


def test_the_key_goes_in_x_api_key_and_a_bearer_token_is_accepted_too() -> None:
    assert DIALECT.auth_headers("k") == {"x-api-key": "k"}
    assert DIALECT.authorized({"x-api-key": "k"}, "k")
    assert DIALECT.authorized({"authorization": "Bearer k"}, "k")
    assert not DIALECT.authorized({"x-api-key": "other"}, "k")


def test_a_request_without_anthropic_version_is_a_400_as_the_api_answers() -> None:
    raw = json.dumps({"model": "m", "max_tokens": 5, "messages": []}).encode()
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(raw, {})
    assert caught.value.status == 400 and "anthropic-version" in caught.value.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": None}, "model"),
        ({"model": ["m"]}, "model"),
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"max_tokens": 2.5}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": None}, "messages"),
        ({"messages": {"role": "user"}}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages.0"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": ["user"], "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages.0.content.0.text",
        ),
        ({"system": 5}, "system"),
        ({"stream": "yes"}, "stream"),
        ({"tools": {"name": "f"}}, "tools"),
        ({"tools": [{"input_schema": {}}]}, "tools.0.name"),
        ({"tools": [{"name": "f", "input_schema": "{}"}]}, "tools.0.input_schema"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice"),
        ({"tool_choice": {"type": ["any"]}}, "tool_choice"),
    ],
    ids=lambda value: json.dumps(value)[:50] if isinstance(value, dict) else str(value),
)
def test_a_value_of_the_wrong_type_is_a_400_naming_it(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _parse(**body)
    assert caught.value.status == 400 and caught.value.param == param
    assert caught.value.message.startswith(f"{param}: ")


@pytest.mark.parametrize(
    ("status", "type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (503, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_error_bodies_are_anthropics(status: int, type: str) -> None:
    body = DIALECT.error_body(status)
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == type and body["error"]["message"]
    assert DIALECT.error_body(status, "why")["error"]["message"] == "why"
