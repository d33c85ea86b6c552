"""A client that stops reading: the service ends up blocked sending to it, and backpressure
reaches the upstream. Tests and benchmarks use it to cancel a stream in that state."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import quote, urlsplit

from ghoststream.harness.evidence import MockEvidence

SETTLE_SAMPLE_S = 0.2


async def open_unread_stream(base_url: str, prompt: str) -> socket.socket:
    """`GET /ask-ai` on a socket with a tiny receive buffer; reads only the status line."""
    parts = urlsplit(base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    request = f"GET /ask-ai?prompt={quote(prompt)} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    first = await loop.sock_recv(sock, 1024)
    if not first.startswith(b"HTTP/1.1 200"):
        sock.close()
        raise AssertionError(f"the stream did not start: {first[:200]!r}")
    return sock


async def wait_until_backpressured(mock: MockEvidence, timeout: float = 30.0) -> int:
    """Until the mock's only open stream stops advancing; return its tokens sent by then.

    Loopback buffers hold megabytes, so this takes a while: the kernel and the service's read
    buffer fill first. Sampled every 0.2 s against a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = -1
    while loop.time() < deadline:
        [seen] = await mock.requests(wait_until_closed=0)
        if seen["tokens_sent"] == last and last > 0:
            return last
        last = seen["tokens_sent"]
        await asyncio.sleep(SETTLE_SAMPLE_S)
    raise AssertionError("the upstream kept streaming into a client that does not read")


def close(sock: socket.socket) -> float:
    """Go away; return the wall-clock time of the close, to compare with the mock's records."""
    closed_at = time.time()
    sock.close()
    return closed_at
