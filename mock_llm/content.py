"""Deterministic answer text, produced as the pieces (tokens) that get streamed.

The same messages, seed and length always give the same pieces, streamed or not. Pieces are made
lazily so a plan of a million tokens costs nothing until it is sent.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator

_WORDS = (
    "the stream of tokens arrives word by word while the reader waits for a clear answer "
    "latency matters because people notice delay above a few hundred milliseconds so the "
    "service sends each piece as soon as the model produces it and the page shows it at once "
    "a good system measures time to first token inter token latency and the cost of every "
    "request it cancels when nobody is reading anymore model prompt context window budget "
    "careful simple honest quick steady gentle bright quiet river mountain harbour lantern"
).split()
_PIECE = re.compile(r"\s*\S{1,12}|\s+")


def stream_seed(seed: int, messages_digest: str) -> int:
    """One RNG seed per (seed, conversation), stable across processes and Python versions."""
    digest = hashlib.blake2b(f"{seed}:{messages_digest}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def prose(seed: int) -> Iterator[str]:
    """Endless seeded pseudo-prose: sentences of 6 to 16 words, each piece a word with its space."""
    rng = random.Random(seed)
    first = True
    while True:
        length = rng.randint(6, 16)
        for index in range(length):
            word = rng.choice(_WORDS)
            if index == 0:
                word = word.capitalize()
            if index == length - 1:
                word += "."
            yield word if first else " " + word
            first = False


def split_text(text: str) -> list[str]:
    """Split text into pieces whose concatenation is exactly `text` (whitespace kept)."""
    return _PIECE.findall(text)


_JSON_PIECE = re.compile(r'\s*"?[^\W_]{1,12}"?|\s*[^\w\s]{1,3}|\s*_|\s+')


def split_json(text: str) -> list[str]:
    """Split a tool call's JSON arguments into token-sized pieces that join back to `text`."""
    pieces = _JSON_PIECE.findall(text)
    assert "".join(pieces) == text, "the pattern covers every character"
    return pieces
