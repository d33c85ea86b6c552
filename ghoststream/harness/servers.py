"""Run the mock and the service for real on 127.0.0.1, on ephemeral ports.

The listening socket is bound and listening before the server starts, so a caller may connect at
once: connections wait in the backlog until the server accepts them, and nobody polls for readiness.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

LOOPBACK = "127.0.0.1"
BACKLOG = 4096


def listening_socket(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A TCP socket bound to host:port (0 = ephemeral) and already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def free_port() -> int:
    """A loopback port free a moment ago, for a server that binds its own socket (nginx,
    Locust's master); a server of ours takes an inherited `listening_socket()` instead."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def wait_until_serving(url: str, timeout: float = 30.0) -> None:
    """One GET; the connection waits in the listen backlog until the app has started."""
    httpx.get(url, timeout=timeout).raise_for_status()


@dataclass
class RunningProcess:
    """A server running in a child process; `url` is its base URL."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a background thread; yield its base URL."""
    sock = listening_socket()
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2, **config
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_in_process(
    module: str,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 10.0,
    output: Path | None = None,
    ready_path: str | None = "/healthz",
) -> Iterator[RunningProcess]:
    """Run `python -m <module> --fd N <args>` on an inherited listening socket.

    Both `mock_llm` and `service` accept `--fd`. The child is stopped with SIGTERM and killed if it
    has not exited within `stop_timeout` seconds. With `output`, its stdout and stderr go to that
    file (tests read the service's logs from it). With `ready_path`, one GET of it returns before
    this yields, so the first timed request does not pay for the child's start-up.
    """
    sock = listening_socket()
    fd = sock.fileno()
    child_env = {**os.environ, **(env or {})}
    sink = open(output, "ab") if output is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--fd", str(fd), *args],
        pass_fds=(fd,),
        env=child_env,
        stdout=sink,
        stderr=subprocess.STDOUT if sink is not None else None,
    )
    try:
        running = RunningProcess(url=base_url(sock), process=process)
        if ready_path is not None:
            wait_until_serving(running.url + ready_path)
        yield running
    finally:
        sock.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if sink is not None:
            sink.close()
