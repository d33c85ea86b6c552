"""The embedded mock: with no upstream configured, the service serves its own mock LLM.

It runs in the service's event loop on 127.0.0.1 at an ephemeral port, so the page works offline
with nothing else to start, and the relay path is exactly the one used with a real upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn

from mock_llm.__main__ import quiet_dropped_connections
from mock_llm.app import create_app as create_mock_app
from mock_llm.config import MockConfig

DEMO_SCHEDULE = MockConfig(ttft_ms=350, itl_ms=35, tokens=160)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the service's own server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def embedded_mock(config: MockConfig = DEMO_SCHEDULE) -> AsyncIterator[str]:
    """Run the mock for the duration of the block; yield its OpenAI base URL (`.../v1`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    quiet_dropped_connections()
    server = _QuietServer(
        uvicorn.Config(
            create_mock_app(config),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()
