"""nginx as a passthrough relay: the yardstick for what relaying costs when nothing is parsed.

One worker, `proxy_buffering off` (each upstream read is written on at once, as a streaming
relay must), keep-alive to the upstream, no access log. Its figures sit next to the service's in
the same run; without an `nginx` binary the rows are skipped with a message.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.endpoints import Endpoint
from ghoststream.harness.servers import free_port, wait_until_serving

CONFIG = """
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 65536; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    upstream llm {{ server {upstream}; keepalive 1024; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://llm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 3600s;
        }}
    }}
}}
"""


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """nginx binds its own socket: poll until it accepts (nothing else to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError("nginx did not start listening")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def version(binary: str) -> str:
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return result.stderr.strip().removeprefix("nginx version: ")


@contextmanager
def serve_nginx(binary: str, upstream: Endpoint) -> Iterator[Endpoint]:
    """nginx relaying `upstream` (the mock's root URL) on an ephemeral loopback port."""
    port = free_port()  # nginx binds it itself
    with tempfile.TemporaryDirectory(prefix="ghoststream-nginx-") as prefix:
        config = Path(prefix) / "nginx.conf"
        target = upstream.base_url.removeprefix("http://")
        config.write_text(CONFIG.format(prefix=prefix, upstream=target, port=port))
        process = subprocess.Popen([binary, "-p", prefix, "-c", str(config)])
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_listening(port, process)
            wait_until_serving(url + "/healthz")
            yield Endpoint("nginx", url, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
