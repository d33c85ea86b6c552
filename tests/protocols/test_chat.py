"""Chat Completions without sockets: every frame the writer makes is one SSE event of valid,
OpenAI-shaped JSON (checked against the `openai` SDK's own models as well as field by field);
the decoder reads them back, and reads anything else as a failure, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ghoststream.protocols import chat, openai_errors
from ghoststream.protocols.chat import DIALECT, DONE, ChunkWriter
from ghoststream.protocols.dialect import Answer, InvalidRequest, ToolCall
from ghoststream.protocols.sse import decode_all

CHUNK_KEYS = {"id", "object", "created", "model", "service_tier", "system_fingerprint", "choices"}


def _event(frame: bytes) -> dict[str, Any]:
    """The JSON of a frame that must hold exactly one `data:` event."""
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    events = list(decode_all([frame]))
    assert len(events) == 1 and events[0].event == "message"
    body = json.loads(events[0].data)
    assert isinstance(body, dict)
    return body


def _writer(include_usage: bool = True, model: str = "gpt-4o-mini") -> ChunkWriter:
    return ChunkWriter("chatcmpl-abc", 1_700_000_000, model, include_usage)


@pytest.mark.parametrize("include_usage", [True, False], ids=["with-usage", "without-usage"])
def test_role_content_and_finish_chunks_are_shaped_like_openai(include_usage: bool) -> None:
    writer = _writer(include_usage)
    role, piece, finish = (
        _event(writer.start()),
        _event(writer.text(" word")),
        json.loads(next(decode_all([writer.finish("length", 5, 1)])).data),
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


def test_usage_chunk_has_no_choices_adds_up_and_comes_before_done() -> None:
    frames = _writer().finish("stop", 12, 30)
    assert frames.endswith(DONE)
    chunk = list(decode_all([frames]))[1]
    assert chunk.event == "message"
    chunk = json.loads(chunk.data)
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
        "lone \ud800 surrogate (a scenario file can hold one)",
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
    frame = _writer().text(text)
    assert frame.count(b"\n\n") == 1, "the text must not break the SSE framing"
    assert _event(frame)["choices"][0]["delta"]["content"] == text


def test_a_model_name_is_json_escaped() -> None:
    chunk = _event(_writer(model='odd "model"\nname').start())
    assert chunk["model"] == 'odd "model"\nname'


def test_done_is_the_openai_terminator() -> None:
    assert [event.data for event in decode_all([DONE])] == ["[DONE]"]


def test_completion_is_a_whole_chat_completion() -> None:
    request = DIALECT.parse_request(b'{"model":"m","messages":[{"role":"user","content":"x"}]}', {})
    answer = Answer("chatcmpl-abc", 1_700_000_000, "Hello there", [], "stop", 5, 2)
    body = DIALECT.whole(request, answer)
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].message.content == "Hello there"
    assert parsed.choices[0].message.role == "assistant"
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.usage is not None and parsed.usage.total_tokens == 7
    assert body["object"] == "chat.completion" and json.loads(json.dumps(body)) == body


def test_completion_ids_look_like_openai_ones_and_do_not_repeat() -> None:
    ids = {DIALECT.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        assert value.startswith("chatcmpl-") and len(value) == len("chatcmpl-") + 29
        assert value[9:].isalnum()


def test_error_bodies_have_openais_four_fields() -> None:
    assert openai_errors.error_body("m", "t", "c", "p") == {
        "error": {"message": "m", "type": "t", "param": "p", "code": "c"}
    }
    assert DIALECT.error_body(400, "bad", "model")["error"] == {
        "message": "bad",
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }


def test_an_in_stream_error_is_one_data_event_with_an_error_object() -> None:
    body = _event(_writer().error_event("boom"))
    assert body == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }


@pytest.mark.parametrize(
    ("status", "type", "code"),
    [
        (401, "invalid_request_error", "invalid_api_key"),
        (429, "requests", "rate_limit_exceeded"),
        (500, "server_error", None),
        (503, "server_error", None),
    ],
)
def test_error_bodies_are_worded_as_the_real_api(status: int, type: str, code: str | None) -> None:
    body = DIALECT.error_body(status)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["type"], body["error"]["code"]) == (type, code)
    assert body["error"]["message"].endswith(".") or body["error"]["message"].endswith("!")


def _stream(texts: list[str], include_usage: bool = True) -> bytes:
    writer = _writer(include_usage)
    body = writer.start() + b"".join(writer.text(t) for t in texts)
    return body + writer.finish("stop", 5, len(texts))


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000], ids=lambda n: f"read size {n}")
def test_the_decoder_gives_the_texts_back_whole_whatever_the_read_size(size: int) -> None:
    texts = ["Hé", " there", "\n\n", " 東京", " \r\n<b>"]
    body = _stream(texts)
    decoder = DIALECT.decoder()
    out: list[str] = []
    for start in range(0, len(body), size):
        out.extend(decoder.feed(body[start : start + size]))
    assert out == texts
    assert decoder.done and decoder.finish_reason == "stop"
    assert decoder.usage == {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}


def test_an_in_stream_error_fails_the_stream_after_the_text_before_it() -> None:
    decoder = DIALECT.decoder()
    texts = decoder.feed(_writer(False).text("a") + _writer(False).error_event("boom"))
    assert texts == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "error"
    assert decoder.feed(b"data: {}\n\n") == []  # nothing is read after a failure


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "[1, 2]",
        '{"choices": [{"delta": 5}]}',
        '{"choices": [{}]}',
        "null",
        '{"choices": [{"delta": {"content": 5}}]}',
        '{"choices": [{"delta": {"content": {"text": "x"}}}]}',
        '{"choices": [{"delta": {}, "finish_reason": {"why": "stop"}}]}',
        '{"choices": [{"delta": {}, "finish_reason": "STOP NOW; <script>"}]}',
        '{"choices": [], "usage": "lots"}',
        '{"choices": [], "usage": {"prompt_tokens": "5", "completion_tokens": 1}}',
        '{"choices": [], "usage": {"prompt_tokens": -5, "completion_tokens": 1}}',
        '{"choices": {"0": {"delta": {"content": "x"}}}}',
        '{"choices": "abc"}',
        '{"choices": [{"delta": {"content": "\\ud800"}}]}',
    ],
    ids=[
        "invalid JSON",
        "not an object",
        "delta not an object",
        "no delta",
        "null",
        "content a number",
        "content an object",
        "finish_reason an object",
        "finish_reason not a word",
        "usage a string",
        "usage count a string",
        "usage count negative",
        "choices an object",
        "choices a string",
        "content a lone surrogate",
    ],
)
def test_chunks_of_the_wrong_shape_are_malformed(data: str) -> None:
    """Regression: wrong-typed values were relayed to clients as they were."""
    decoder = DIALECT.decoder()
    assert decoder.feed(f"data: {data}\n\n".encode()) == []
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_keep_alive_chunks_with_no_choices_carry_nothing() -> None:
    decoder = DIALECT.decoder()
    assert decoder.feed(b'data: {"choices": []}\n\n' * 3) == []
    assert decoder.failure is None and not decoder.done


def test_nothing_after_done_is_read() -> None:
    decoder = DIALECT.decoder()
    assert decoder.feed(DONE + b"data: {garbage\n\n") == []
    assert decoder.done and decoder.failure is None


def test_an_event_over_the_size_limit_is_malformed() -> None:
    decoder = chat.ChatDecoder(max_event_bytes=1024)
    assert decoder.feed(b"data: " + b"x" * 2000) == []
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_a_tool_call_streams_as_openai_does_and_is_read_as_tool_output() -> None:
    writer = _writer()
    call = ToolCall("call_abc", "get_weather", '{"city":"Paris"}')
    body = writer.start() + writer.tool_call(call)
    body += writer.tool_arguments('{"city"') + writer.tool_arguments(':"Paris"}')
    body += writer.finish("tool_calls", 5, 2)
    chunks = [json.loads(e.data) for e in decode_all([body]) if e.data != "[DONE]"]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    opening = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
    assert opening == {
        "index": 0,
        "id": "call_abc",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    pieces = [
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[2:4]
    ]
    assert "".join(pieces) == call.arguments
    assert chunks[4]["choices"][0]["finish_reason"] == "tool_calls"
    decoder = DIALECT.decoder()
    assert decoder.feed(body) == []
    assert decoder.tool_deltas == 2 and decoder.done and decoder.finish_reason == "tool_calls"


def _parse(**body: Any) -> Any:
    full = {"model": "m", "messages": [{"role": "user", "content": "x"}], **body}
    return DIALECT.parse_request(json.dumps(full).encode(), {})


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert _parse(max_tokens=9, max_completion_tokens=4).max_tokens == 4
    assert _parse(max_tokens=9).max_tokens == 9
    assert _parse().max_tokens is None


def test_include_usage_needs_stream_options() -> None:
    assert _parse(stream=True, stream_options={"include_usage": True}).include_usage
    assert not _parse(stream=True).include_usage


def test_the_digest_depends_on_every_message_and_role() -> None:
    system = DIALECT.parse_request(
        b'{"model":"m","messages":[{"role":"system","content":"x"}]}', {}
    )
    assert len({_parse().digest, system.digest}) == 2
    assert _parse().digest == _parse(stream=True).digest


def test_the_last_user_message_is_the_text_of_its_parts() -> None:
    messages = [
        {"role": "system", "content": "[mock: tokens=1]"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "a "}, {"type": "text", "text": "b"}],
        },
    ]
    assert _parse(messages=messages).last_user_text == "a b"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": ["m"]}, "model"),
        ({"messages": [{"role": ["user"], "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": {"a": 1}, "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": ["text"]}]}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}, None),
        ({"max_tokens": 1e300}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_completion_tokens": "5"}, "max_completion_tokens"),
        ({"stream": "yes"}, "stream"),
        ({"stream": True, "stream_options": [1]}, "stream_options"),
        ({"stream": True, "stream_options": {"include_usage": "yes"}}, "include_usage"),
        ({"n": [1]}, "n"),
        ({"tools": {"a": 1}}, "tools"),
        ({"tools": [{"function": {"name": ["x"]}}]}, None),
        ({"tool_choice": 5}, "tool_choice"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else str(value),
)
def test_a_value_of_the_wrong_type_is_a_400_naming_it(
    body: dict[str, Any], param: str | None
) -> None:
    """Regression: an unhashable role or a float max_tokens was a 500 with a traceback."""
    with pytest.raises(InvalidRequest) as caught:
        _parse(**body)
    assert caught.value.status == 400
    if param is not None:
        assert caught.value.param == param


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": "m", "max_tokens": Infinity}',
        b"\xff\xfe",
        b"",
    ],
    ids=["nested-5000-deep", "lone-surrogate", "infinity", "not-utf8", "empty"],
)
def test_a_body_that_is_not_sound_json_is_a_400(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(raw, {})
    assert caught.value.status == 400
