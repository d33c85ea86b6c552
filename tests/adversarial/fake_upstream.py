"""A fake upstream that answers every request with exactly the bytes a test scripts.

It runs on its own event loop in a thread, so it outlives each test's loop; a test sets
`script` (an async function that writes to the connection) and reads `requests` afterwards.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

Script = Callable[[asyncio.StreamWriter], Awaitable[None]]

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def whole(raw: bytes) -> Script:
    """Write `raw` and close."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return script


def sse(*events: bytes, then: Script | None = None) -> Script:
    """A 200 SSE head, each event as one chunk, then `then` (default: the last chunk)."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + b"".join(chunk(event) for event in events))
        await writer.drain()
        if then is None:
            writer.write(b"0\r\n\r\n")
        else:
            await then(writer)

    return script


def forever(unit: bytes, every_s: float) -> Script:
    """Send `unit` every `every_s` until the client goes away: bytes that never make a token."""

    async def script(writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(unit)
            await writer.drain()
            await asyncio.sleep(every_s)  # the broken upstream's own pace

    return script


def flood(prefix: bytes, total: int, piece: int = 65536) -> Script:
    """`prefix`, then `total` bytes of `x` in chunks, with no line end: one endless line."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + chunk(prefix))
        for _ in range(total // piece):
            writer.write(chunk(b"x" * piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    return script


class FakeUpstream:
    def __init__(self) -> None:
        self.script: Script = whole(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
        )
        self.requests: list[bytes] = []
        self.url = ""
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.requests.append(head)
            await self.script(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    def reset(self, script: Script) -> None:
        self.script = script
        self.requests = []


@contextmanager
def fake_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    thread = threading.Thread(target=fake.loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake._start(), fake.loop).result(timeout=5)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake._stop(), fake.loop).result(timeout=5)
        fake.loop.call_soon_threadsafe(fake.loop.stop)
        thread.join(timeout=5)
        fake.loop.close()
