"""Legacy Completions without sockets: every chunk the writer makes is one `data:` event the
`openai` SDK's `Completion` model reads, ending in `[DONE]`; the decoder reads them back, and
reads anything else as a failure, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types import Completion

from ghoststream.protocols.chat import DONE
from ghoststream.protocols.completions import DEFAULT_MAX_TOKENS, DIALECT, CompletionWriter
from ghoststream.protocols.dialect import Answer, GenerationRequest, InvalidRequest
from ghoststream.protocols.sse import decode_all


def _parse(**body: Any) -> GenerationRequest:
    full = {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", **body}
    return DIALECT.parse_request(json.dumps(full).encode(), {})


def _writer(include_usage: bool = True, model: str = "m") -> CompletionWriter:
    return CompletionWriter("cmpl-abc", 1_700_000_000, model, include_usage)


def _chunks(body: bytes) -> list[dict[str, Any]]:
    events = list(decode_all([body]))
    assert all(event.event == "message" for event in events)
    return [json.loads(event.data) for event in events if event.data != "[DONE]"]


@pytest.mark.parametrize("include_usage", [True, False], ids=["with-usage", "without-usage"])
def test_a_stream_is_text_chunks_a_finish_chunk_then_done(include_usage: bool) -> None:
    writer = _writer(include_usage)
    assert writer.start() == b"", "the legacy API sends no opening chunk"
    body = writer.text("Hel") + writer.text("lo") + writer.finish("length", 3, 2)
    assert body.endswith(DONE)
    chunks = _chunks(body)
    for chunk in chunks:
        Completion.model_construct(**chunk)
        assert chunk["object"] == "text_completion" and chunk["id"] == "cmpl-abc"
        assert chunk["created"] == 1_700_000_000 and chunk["model"] == "m"
    assert [c["choices"][0]["text"] for c in chunks[:3]] == ["Hel", "lo", ""]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:3]] == [None, None, "length"]
    assert chunks[0]["choices"][0] == {
        "text": "Hel",
        "index": 0,
        "logprobs": None,
        "finish_reason": None,
    }
    if include_usage:
        assert len(chunks) == 4 and chunks[-1]["choices"] == []
        Completion.model_validate(chunks[-1])
        assert chunks[-1]["usage"] == {
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "total_tokens": 5,
        }
        assert all(c["usage"] is None for c in chunks[:3])
    else:
        assert len(chunks) == 3 and all("usage" not in c for c in chunks)


def test_a_model_name_is_json_escaped_even_one_that_says_null() -> None:
    chunks = _chunks(_writer(model='null "odd"\nname').finish("stop", 1, 1))
    assert {c["model"] for c in chunks} == {'null "odd"\nname'}
    assert chunks[-1]["usage"]["total_tokens"] == 2


@pytest.mark.parametrize(
    "text", ['say "hi"', "line\nbreak\r\n", "héllo 👋", "data: [DONE]\n\n", "lone \ud800"]
)
def test_any_piece_of_text_round_trips(text: str) -> None:
    frame = _writer().text(text)
    assert frame.count(b"\n\n") == 1, "the text must not break the SSE framing"
    assert _chunks(frame)[0]["choices"][0]["text"] == text


@pytest.mark.parametrize("size", [1, 3, 64, 10_000], ids=lambda n: f"read size {n}")
def test_the_decoder_gives_the_texts_back_whole_whatever_the_read_size(size: int) -> None:
    texts = ["Hé", " there", "\n\n", " 東京"]
    writer = _writer()
    body = b"".join(writer.text(t) for t in texts) + writer.finish("stop", 5, 4)
    decoder = DIALECT.decoder()
    out: list[str] = []
    for start in range(0, len(body), size):
        out.extend(decoder.feed(body[start : start + size]))
    assert out == texts
    assert decoder.done and decoder.finish_reason == "stop"
    assert decoder.usage == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}


def test_an_in_stream_error_fails_the_stream_after_the_text_before_it() -> None:
    writer = _writer()
    decoder = DIALECT.decoder()
    assert decoder.feed(writer.text("a") + writer.error_event("boom")) == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "error"
    assert decoder.failure.detail == "boom"


def test_a_malformed_chunk_fails_the_stream_as_malformed() -> None:
    writer = _writer()
    decoder = DIALECT.decoder()
    assert decoder.feed(writer.text("a") + writer.malformed()) == ["a"]
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "[1]",
        '{"choices": [{}]}',
        '{"choices": [{"text": 5}]}',
        '{"choices": [{"text": null}]}',
        '{"choices": [{"text": "", "finish_reason": ["stop"]}]}',
        '{"choices": "abc"}',
        '{"choices": [], "usage": {"prompt_tokens": 1.5, "completion_tokens": 1}}',
    ],
    ids=[
        "invalid JSON",
        "not an object",
        "no text",
        "text a number",
        "text null",
        "finish_reason a list",
        "choices a string",
        "usage count a float",
    ],
)
def test_chunks_of_the_wrong_shape_are_malformed(data: str) -> None:
    decoder = DIALECT.decoder()
    assert decoder.feed(f"data: {data}\n\n".encode()) == []
    assert decoder.failure is not None and decoder.failure.kind == "malformed"


def test_a_whole_completion_is_what_the_sdk_reads() -> None:
    answer = Answer("cmpl-abc", 1_700_000_000, "Hello there", [], "stop", 5, 2)
    parsed = Completion.model_validate(DIALECT.whole(_parse(), answer))
    assert parsed.choices[0].text == "Hello there" and parsed.choices[0].finish_reason == "stop"
    assert parsed.usage is not None and parsed.usage.total_tokens == 7
    assert parsed.object == "text_completion"


def test_max_tokens_defaults_to_16_as_the_api_does() -> None:
    assert _parse().max_tokens == DEFAULT_MAX_TOKENS == 16
    assert _parse(max_tokens=100).max_tokens == 100


def test_what_benchmark_clients_send_is_read() -> None:
    """`vllm bench serve` and guidellm add sampling fields the mock ignores."""
    request = _parse(
        prompt=["the prompt"],
        max_tokens=128,
        stream=True,
        stream_options={"include_usage": True},
        temperature=0.0,
        ignore_eos=True,
        logprobs=None,
        stop=None,
    )
    assert request.messages == (("user", "the prompt"),) and request.last_user_text == "the prompt"
    assert request.stream and request.include_usage and request.max_tokens == 128


def test_a_built_request_parses_back() -> None:
    body = DIALECT.build_request("m", [("system", "be kind"), ("user", "hi")], max_tokens=7)
    request = DIALECT.parse_request(json.dumps(body).encode(), {})
    assert request.messages == (("user", "be kind\n\nhi"),) and request.stream
    assert request.include_usage and request.max_tokens == 7


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": 5}, "model"),
        ({"prompt": None}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": [[1, 2]]}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": []}, "prompt"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stream": 1}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"stream": True, "stream_options": "yes"}, "stream_options"),
        ({"stream": True, "stream_options": {"include_usage": "yes"}}, "include_usage"),
        ({"n": 2}, "n"),
    ],
    ids=lambda value: json.dumps(value)[:50] if isinstance(value, dict) else str(value),
)
def test_a_value_of_the_wrong_type_is_a_400_naming_it(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _parse(**body)
    assert caught.value.status == 400 and caught.value.param == param
