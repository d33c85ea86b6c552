"""OpenAI Responses without sockets: every event the writer makes is one named SSE event whose
`data` the `openai` SDK's own models accept, numbered without a gap; the decoder reads them
back, and reads anything else as a failure, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from ghoststream.protocols.dialect import (
    Answer,
    FinishReason,
    GenerationRequest,
    InvalidRequest,
    ToolCall,
)
from ghoststream.protocols.responses import DIALECT, EventWriter
from ghoststream.protocols.sse import decode_all

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _parse(**body: Any) -> GenerationRequest:
    return DIALECT.parse_request(json.dumps({"model": "gpt-4o-mini", **body}).encode(), {})


def _writer(**body: Any) -> EventWriter:
    request = _parse(input="hi", stream=True, **body)
    return DIALECT.writer("resp_" + "ab" * 24, 1_700_000_000, request)


def _events(body: bytes) -> list[dict[str, Any]]:
    """Each event's data, after checking its `event:` name is its `type`."""
    out = []
    for event in decode_all([body]):
        data = json.loads(event.data)
        assert event.event == data["type"]
        out.append(data)
    return out


def _text_stream(texts: list[str], reason: FinishReason = "stop", **body: Any) -> bytes:
    writer = _writer(**body)
    frames = writer.start() + b"".join(writer.text(t) for t in texts)
    return frames + writer.finish(reason, 5, len(texts))


def test_a_text_answer_is_the_live_apis_event_sequence_numbered_from_zero() -> None:
    events = _events(_text_stream(["Hel", "lo"]))
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        EVENTS.validate_python(event)
    created, completed = events[0]["response"], events[-1]["response"]
    assert created["status"] == "in_progress" and created["output"] == []
    assert created["usage"] is None and created["id"] == completed["id"]
    assert events[6]["text"] == "Hello" and events[7]["part"]["text"] == "Hello"
    message = events[8]["item"]
    assert message["status"] == "completed" and message["role"] == "assistant"
    assert {e.get("item_id") for e in events[3:8]} == {message["id"]}
    final = Response.model_validate(completed)
    assert final.status == "completed" and final.output_text == "Hello"
    assert final.usage is not None and final.usage.total_tokens == 7
    assert final.usage.input_tokens_details.cached_tokens == 0
    assert final.usage.output_tokens_details.reasoning_tokens == 0
    assert completed["output"] == [message] and completed["completed_at"] is not None


def test_item_ids_share_the_response_ids_tail_as_the_live_apis_do() -> None:
    events = _events(_text_stream(["a"]))
    response_id, message_id = events[0]["response"]["id"], events[2]["item"]["id"]
    assert message_id.startswith("msg_") and message_id[-16:] == response_id[-16:]


def test_a_token_limit_ends_in_response_incomplete() -> None:
    events = _events(_text_stream(["a", "b"], "length", max_output_tokens=16))
    last = events[-1]
    assert last["type"] == "response.incomplete"
    EVENTS.validate_python(last)
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["max_output_tokens"] == 16
    assert last["response"]["output"][0]["status"] == "incomplete"
    decoder = DIALECT.decoder()
    assert decoder.feed(_text_stream(["a", "b"], "length")) == ["a", "b"]
    assert decoder.done and decoder.finish_reason == "length"


def test_a_tool_call_streams_as_a_function_call_item() -> None:
    writer = _writer(tools=[TOOL])
    call = ToolCall("call_abc", "get_weather", '{"city":"Paris"}')
    body = writer.start() + writer.tool_call(call)
    body += writer.tool_arguments('{"city"') + writer.tool_arguments(':"Paris"}')
    body += writer.finish("tool_calls", 5, 2)
    events = _events(body)
    for event in events:
        EVENTS.validate_python(event)
    assert [e["type"] for e in events[2:]] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2]["item"], events[6]["item"]
    assert added["type"] == "function_call" and added["arguments"] == ""
    assert (added["call_id"], added["name"]) == ("call_abc", "get_weather")
    assert added["status"] == "in_progress"
    assert done == {**added, "status": "completed", "arguments": call.arguments}
    assert events[5]["arguments"] == call.arguments
    assert events[-1]["response"]["output"] == [done]
    assert events[-1]["response"]["tools"][0]["name"] == "get_weather"
    decoder = DIALECT.decoder()
    assert decoder.feed(body) == []
    assert decoder.tool_deltas == 2 and decoder.done and decoder.finish_reason == "tool_calls"


def test_an_empty_answer_is_still_one_empty_message() -> None:
    events = _events(_text_stream([]))
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == ""
    assert [e["type"] for e in events].count("response.output_item.done") == 1


def test_deltas_carry_obfuscation_unless_the_request_turns_it_off() -> None:
    padded = _events(_text_stream(["a"]))[4]
    assert isinstance(padded["obfuscation"], str) and padded["obfuscation"]
    plain = _events(_text_stream(["a"], stream_options={"include_obfuscation": False}))[4]
    assert "obfuscation" not in plain and plain["logprobs"] == []


def test_an_error_mid_stream_is_a_nested_error_event_then_response_failed() -> None:
    """The live API nests the fields under `error`, which is what makes the SDK raise."""
    writer = _writer()
    body = writer.start() + writer.text("a") + writer.error_event("boom")
    events = _events(body)
    error, failed = events[-2], events[-1]
    assert error == {
        "type": "error",
        "sequence_number": error["sequence_number"],
        "error": {"type": "server_error", "code": "server_error", "message": "boom", "param": None},
    }
    EVENTS.validate_python(failed)
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "boom"}
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


def test_a_malformed_event_fails_the_stream_as_malformed() -> None:
    writer = _writer()
    body = writer.start() + writer.text("a") + writer.malformed()
    decoder = DIALECT.decoder()
    assert decoder.feed(body) == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "[1]",
        "{}",
        '{"type": 5}',
        '{"type": "response.output_text.delta", "delta": 5}',
        '{"type": "response.output_text.delta"}',
        '{"type": "response.function_call_arguments.delta", "delta": ["x"]}',
        '{"type": "response.completed", "response": "done"}',
        '{"type": "response.completed", "response": {"output": {}}}',
        '{"type": "response.completed", "response": {"output": [], "usage": {"input_tokens": "1",'
        ' "output_tokens": 1}}}',
        '{"type": "response.completed", "response": {"output": [], "usage": {"input_tokens": 1,'
        ' "output_tokens": -1}}}',
    ],
    ids=[
        "invalid JSON",
        "not an object",
        "no type",
        "type a number",
        "delta a number",
        "no delta",
        "arguments delta a list",
        "response a string",
        "output an object",
        "usage count a string",
        "usage count negative",
    ],
)
def test_events_of_the_wrong_shape_are_malformed(data: str) -> None:
    decoder = DIALECT.decoder()
    assert decoder.feed(f"event: x\ndata: {data}\n\n".encode()) == []
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_the_documented_flat_error_event_fails_the_stream_too() -> None:
    decoder = DIALECT.decoder()
    data = '{"type":"error","code":"x","message":"flat","param":null,"sequence_number":1}'
    decoder.feed(f"event: error\ndata: {data}\n\n".encode())
    assert decoder.failure is not None and decoder.failure.kind == "error"
    assert decoder.failure.detail == "flat"


def test_a_whole_response_is_what_the_sdk_reads() -> None:
    request = _parse(input="hi", instructions="Be brief.", max_output_tokens=20)
    answer = Answer("resp_" + "cd" * 24, 1_700_000_000, "Hello there", [], "length", 5, 20)
    parsed = Response.model_validate(DIALECT.whole(request, answer))
    assert parsed.output_text == "Hello there" and parsed.status == "incomplete"
    assert parsed.incomplete_details is not None
    assert parsed.incomplete_details.reason == "max_output_tokens"
    assert parsed.instructions == "Be brief." and parsed.max_output_tokens == 20
    assert parsed.usage is not None and parsed.usage.total_tokens == 25


def test_a_whole_tool_call_is_a_function_call_item() -> None:
    request = _parse(input="hi", tools=[TOOL], tool_choice="required")
    call = ToolCall("call_x", "get_weather", '{"city":"Oslo"}')
    body = DIALECT.whole(request, Answer("resp_1", 1, "", [call], "tool_calls", 5, 3))
    parsed = Response.model_validate(body)
    assert [item.type for item in parsed.output] == ["function_call"]
    assert body["output"][0]["call_id"] == "call_x" and body["tool_choice"] == "required"


def test_input_may_be_a_string_or_message_items_with_text_parts() -> None:
    assert _parse(input="just this").messages == (("user", "just this"),)
    items = [
        {"role": "system", "content": "sys"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "b"}]},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "sunny"},
        {"role": "user", "content": [{"type": "input_image", "image_url": "x"}]},
    ]
    request = _parse(input=items, instructions="inst")
    assert request.messages == (
        ("developer", "inst"),
        ("system", "sys"),
        ("user", "a"),
        ("assistant", "b"),
        ("tool", "sunny"),
        ("user", ""),
    )


def test_tools_are_read_in_the_flat_function_shape() -> None:
    request = _parse(input="hi", tools=[TOOL], tool_choice={"type": "function", "name": "x"})
    assert [t.name for t in request.tools] == ["get_weather"]
    assert request.tools[0].parameters == TOOL["parameters"]
    assert request.tool_choice == "x"


def test_a_built_request_parses_back_to_its_messages() -> None:
    messages = [("system", "be kind"), ("user", "hi")]
    body = DIALECT.build_request("m", messages, max_tokens=32)
    request = DIALECT.parse_request(json.dumps(body).encode(), {})
    assert list(request.messages) == messages and request.stream and request.max_tokens == 32


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "model": ["m"]}, "model"),
        ({}, "input"),
        ({"input": 5}, "input"),
        ({"input": [5]}, "input[0]"),
        ({"input": [{"role": ["user"], "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 5}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]}, None),
        ({"input": [{"role": "user", "content": ["x"]}]}, "input[0].content"),
        ({"input": [{"type": 3}]}, "input[0]"),
        ({"input": "x", "instructions": ["a"]}, "instructions"),
        ({"input": "x", "max_output_tokens": 15}, "max_output_tokens"),
        ({"input": "x", "max_output_tokens": 1e300}, "max_output_tokens"),
        ({"input": "x", "max_output_tokens": True}, "max_output_tokens"),
        ({"input": "x", "stream": "yes"}, "stream"),
        ({"input": "x", "stream_options": {}}, "stream_options"),
        ({"input": "x", "stream": True, "stream_options": [1]}, "stream_options"),
        (
            {"input": "x", "stream": True, "stream_options": {"include_obfuscation": 1}},
            "include_obfuscation",
        ),
        ({"input": "x", "tools": {"a": 1}}, "tools"),
        ({"input": "x", "tools": [{"type": "function", "name": 5}]}, None),
        ({"input": "x", "tool_choice": 5}, "tool_choice"),
        ({"input": "x", "temperature": "hot"}, "temperature"),
        ({"input": "x", "metadata": [1]}, "metadata"),
    ],
    ids=lambda value: json.dumps(value)[:50] if isinstance(value, dict) else str(value),
)
def test_a_value_of_the_wrong_type_is_a_400_naming_it(
    body: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _parse(**body)
    assert caught.value.status == 400
    if param is not None:
        assert caught.value.param == param


def test_errors_are_openais_shape() -> None:
    assert DIALECT.error_body(429)["error"]["code"] == "rate_limit_exceeded"
    assert DIALECT.error_body(400, "bad", "input")["error"]["param"] == "input"
