"""Play a recording back: its status, headers and every read's bytes, each at its recorded
offset (divided by `replay_speed`), so a client or SDK cannot tell it from the original.

Offsets are absolute deadlines from the moment the request was read, as the generated streams'
are, so event-loop lag never accumulates. The ledger counts tokens as the dialect's decoder
finds them in the bytes sent (`recording.token_counts`), not reads, so `tokens_sent` means the
same for a replay as for a generated stream. The caller runs this under the disconnect watcher.
"""

from __future__ import annotations

import asyncio
import time

from ghoststream.asgi import Send

from .faults import DropConnection
from .ledger import Ledger, StreamEntry
from .recording import Recording


def schedule(recording: Recording, counts: list[int], speed: float) -> tuple[float, float]:
    """(ttft_ms, itl_ms) the replay plays at `speed`: its first token's offset and the mean gap
    between the reads that carry tokens; the ledger's plan fields."""
    times = [
        chunk.at_ms
        for chunk, before, after in zip(recording.chunks, [0, *counts], counts, strict=False)
        if after > before
    ]
    if not times:
        return 0.0, 0.0
    scale = 0.0 if speed <= 0 else 1 / speed
    itl = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 0.0
    return times[0] * scale, itl * scale


async def play(
    send: Send,
    recording: Recording,
    counts: list[int],
    speed: float,
    headers: list[tuple[bytes, bytes]],
    entry: StreamEntry,
    ledger: Ledger,
) -> None:
    """Send `recording` on schedule; `counts` is `token_counts(recording)`; `headers` the
    mock's own (`x-request-id`), which replace any recorded one. Speed 0: no waiting at all."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    scale = 0.0 if speed <= 0 else 1 / (speed * 1000)

    async def wait_for(at_ms: float) -> None:
        delay = start + at_ms * scale - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    own = {name for name, _ in headers}
    recorded = [
        (name.encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in recording.headers.items()
        if name.encode("latin-1") not in own
    ]
    content_type = [(b"content-type", recording.content_type.encode("latin-1", "replace"))]
    await wait_for(recording.headers_ms)
    await send(
        {
            "type": "http.response.start",
            "status": recording.status,
            "headers": content_type + recorded + headers,
        }
    )
    chunks = recording.chunks
    last = len(chunks) - 1
    for index, (chunk, tokens) in enumerate(zip(chunks, counts, strict=True)):
        await wait_for(chunk.at_ms)
        if tokens and entry.first_token_at is None:
            entry.first_token_at = time.time()
        ends = index == last and recording.complete
        await send({"type": "http.response.body", "body": chunk.data, "more_body": not ends})
        entry.tokens_sent = tokens
    if not recording.complete:
        raise DropConnection()  # cut mid-body when it was recorded: cut it again
    if not chunks:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    ledger.close(entry, "completed" if recording.status < 400 else "fault")
