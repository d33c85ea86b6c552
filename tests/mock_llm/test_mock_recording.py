"""Scrubbing and the scenario form of a recording, pure: no sockets, plain chunks."""

from __future__ import annotations

import pytest

from mock_llm.recording import Chunk, Recording, from_document, scrub, to_document

ID = b"chatcmpl-AbC123xyz789"


def _recording(*data: bytes, **fields: object) -> Recording:
    chunks = tuple(Chunk(10.0 * (i + 1), piece) for i, piece in enumerate(data))
    return Recording("chat", 200, "text/event-stream", chunks, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", [3, 9, 12, len(ID)], ids=lambda cut: f"cut-at-{cut}")
def test_an_id_split_across_reads_is_still_scrubbed_and_the_reads_keep_their_times(
    cut: int,
) -> None:
    body = b'data: {"id":"' + ID + b'"}\n\ndata: {"id":"' + ID + b'"}\n\n'
    at = len(b'data: {"id":"') + cut
    clean = scrub(_recording(body[:at], body[at:]))
    assert clean.body == body.replace(ID, b"chatcmpl-recorded0")
    assert [chunk.at_ms for chunk in clean.chunks] == [10.0, 20.0]


def test_distinct_ids_get_distinct_stable_placeholders() -> None:
    body = b"resp_aaaaaaaa msg_bbbbbbbb resp_aaaaaaaa resp_cccccccc call_dddddddd"
    assert scrub(_recording(body)).body == (
        b"resp_recorded0 msg_recorded0 resp_recorded0 resp_recorded1 call_recorded0"
    )


def test_headers_outside_the_allowlist_are_dropped_and_request_ids_replaced() -> None:
    headers = {
        "x-request-id": "req_0123456789abcdef",
        "request-id": "7f1c9e2a-uuid",
        "set-cookie": "__cf_bm=secret",
        "openai-organization": "org-secret",
        "openai-project": "proj_secret",
        "anthropic-organization-id": "secret",
        "cf-ray": "8a1b2c3d4e",
        "x-ratelimit-remaining-tokens": "149000",
        "openai-processing-ms": "212",
    }
    clean = scrub(_recording(b"data: [DONE]\n\n", headers=headers))
    assert clean.headers == {
        "x-request-id": "req_recorded0",
        "request-id": "req_recorded",
        "x-ratelimit-remaining-tokens": "149000",
        "openai-processing-ms": "212",
    }


def test_a_read_that_ends_inside_a_character_survives_the_round_trip() -> None:
    snowman, done = "data: ☃\n\n".encode(), b"data: [DONE]\n\n"
    recording = _recording(snowman[:7], snowman[7:], done, headers={"cache-control": "no-cache"})
    document = to_document(recording)
    assert ["base64" in chunk for chunk in document["chunks"]] == [True, True, False]
    assert from_document(document) == recording


def test_tokens_are_counted_as_the_dialects_decoder_counts_them() -> None:
    def event(text: str) -> bytes:
        return b'data: {"choices":[{"index":0,"delta":{"content":"' + text.encode() + b'"}}]}\n\n'

    recording = _recording(
        event("a") + event("b"), event("c")[:9], event("c")[9:], b"data: [DONE]\n\n"
    )
    assert recording.counts == [2, 2, 3, 3]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"api": "grpc", "chunks": []}, "recording api must be one of"),
        ({"api": "chat"}, "needs a `chunks` list"),
        ({"api": "chat", "chunks": [{"text": "x"}]}, "bad recording"),
        ({"api": "chat", "chunks": [{"at_ms": 1, "base64": "!!"}]}, "bad recording"),
    ],
    ids=["unknown-api", "no-chunks", "chunk-without-time", "bad-base64"],
)
def test_a_bad_recording_is_refused_naming_the_problem(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        from_document(document)
