"""Run the mock inside another program's event loop: the service's offline default upstream.

It listens on 127.0.0.1 at an ephemeral port, so the relay path is exactly the one used with a
real upstream. Signals are left to the host program's own server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn

from ghoststream.http_guard import ConnectionGuard

from .app import create_app
from .config import MockConfig
from .faults import DropConnection


class _HideDroppedConnections(logging.Filter):
    """`drop_midstream` closes connections by raising; that is the fault working, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


def quiet_dropped_connections() -> None:
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the host's own server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def embedded_mock(config: MockConfig) -> AsyncIterator[str]:
    """Run the mock for the duration of the block; yield its root URL (`http://127.0.0.1:N`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    quiet_dropped_connections()
    server = _QuietServer(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            **ConnectionGuard().uvicorn_options(),
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
