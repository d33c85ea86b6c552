"""Property tests: any text survives the service's SSE framing byte for byte, however split.

The service ships token text inside JSON (`encode_json_event`), where CR, LF, blank lines and NUL
are escaped, so nothing in the text can end a line or an event early. Plain `encode_event` is
exact for text without CR (the SSE format itself turns a lone CR into a line break).
"""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ghoststream.protocols.sse import decode_all, encode_event, encode_json_event

# Any Unicode scalar value: orjson, like the wire, refuses lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
AWKWARD = st.lists(
    st.sampled_from(["\r", "\n", "\r\n", "\0", " ", "data: x", ":", "é", "🚀"]), max_size=12
).map("".join)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(cut, 0), len(data)) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXT | AWKWARD, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 2000)))
def test_token_text_survives_json_framing_and_any_split(texts: list[str], cuts: list[int]) -> None:
    wire = b"".join(
        encode_json_event(orjson.dumps({"text": text}), "token", index)
        for index, text in enumerate(texts, start=1)
    )
    events = list(decode_all(split_at(wire, cuts)))
    assert [orjson.loads(event.data)["text"] for event in events] == texts
    assert [event.id for event in events] == [str(i) for i in range(1, len(texts) + 1)]
    assert {event.event for event in events} == {"token"}


@settings(max_examples=300, deadline=None)
@given(text=TEXT.filter(lambda t: "\r" not in t), cuts=st.lists(st.integers(0, 2000)))
def test_plain_data_without_cr_survives_exactly(text: str, cuts: list[int]) -> None:
    events = list(decode_all(split_at(encode_event(text, "note"), cuts)))
    assert len(events) == 1 and events[0].data == text
