"""Servers with short limits for attackers to hit, and the check every case ends with.

Each case asserts its documented answer in a stated time; `recovered` then asserts the server is
still whole: `/healthz` answers at once, a normal stream completes (the service), and its file
descriptors and memory are back where they were before the attack.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import RunningProcess, serve_in_process
from mock_llm.directive import directive
from tests.conftest import service_env

TIMEOUT_S = 1.0
"""The head, body and idle timeouts the guarded servers run with."""
CONNECTIONS_PER_CLIENT = 32
MAX_TOKENS_LIMIT = 4096
"""The production default, which the other test servers lift."""
RSS_GROWTH_LIMIT_KIB = 32 * 1024
"""What one attack may leave behind in memory: allocator slack, never the attack's payload."""


@dataclass(frozen=True)
class Footprint:
    fds: int
    rss_kib: int


def footprint(pid: int) -> Footprint:
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return Footprint(fds, int(line.split()[1]))
    raise AssertionError("no VmRSS")


@dataclass(frozen=True)
class Target:
    """A server under attack: the service (on the session's mock) or the mock itself."""

    name: str
    url: str
    pid: int
    log: Path | None = None

    @property
    def chat_path(self) -> str:
        """Where a chat request with a JSON body goes."""
        return "/api/chat" if self.name == "service" else "/v1/chat/completions"

    async def normal_use(self) -> None:
        """What a well-behaved client does; it must work after any attack."""
        async with httpx.AsyncClient(timeout=5) as client:
            assert (await client.get(f"{self.url}/healthz")).status_code == 200
        if self.name == "service":
            prompt = directive(ttft_ms=0, itl_ms=0, tokens=3) + " Hi."
            record = await timed_stream(
                f"{self.url}/ask-ai", method="GET", params={"prompt": prompt}
            )
            assert record.tokens >= 1 and record.terminal == "done", record

    async def assert_recovered(self, before: Footprint) -> None:
        async with asyncio.timeout(10):
            await self.normal_use()
            while True:  # the server closes what the attack opened on its own timers
                now = footprint(self.pid)
                if now.fds <= before.fds + 1:
                    break
                await asyncio.sleep(0.05)  # polling /proc: nothing to wait on
        assert now.rss_kib - before.rss_kib < RSS_GROWTH_LIMIT_KIB, (before, now)
        if self.log is not None:
            assert "Traceback" not in self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def guarded_service(
    mock_process: RunningProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    log = tmp_path_factory.mktemp("guarded") / "service.log"
    env = service_env(
        mock_process.url,
        GHOSTSTREAM_HEADER_TIMEOUT_S=str(TIMEOUT_S),
        GHOSTSTREAM_BODY_TIMEOUT_S=str(TIMEOUT_S),
        GHOSTSTREAM_KEEPALIVE_TIMEOUT_S=str(TIMEOUT_S),
        GHOSTSTREAM_MAX_CONNECTIONS_PER_CLIENT=str(CONNECTIONS_PER_CLIENT),
        GHOSTSTREAM_MAX_TOKENS_LIMIT=str(MAX_TOKENS_LIMIT),
    )
    with serve_in_process("service", env=env, output=log) as server:
        yield Target("service", server.url, server.pid, log)


@pytest.fixture(scope="module")
def guarded_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    log = tmp_path_factory.mktemp("guarded") / "mock.log"
    limits = [
        *("--header-timeout-s", str(TIMEOUT_S), "--body-timeout-s", str(TIMEOUT_S)),
        *("--idle-timeout-s", str(TIMEOUT_S)),
        *("--max-connections-per-client", str(CONNECTIONS_PER_CLIENT)),
    ]
    with serve_in_process("mock_llm", ["--log-level", "info", *limits], output=log) as server:
        yield Target("mock", server.url, server.pid, log)


@pytest.fixture(params=["service", "mock"])
def target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue(f"guarded_{request.param}")  # type: ignore[no-any-return]


@pytest.fixture
async def recovered(target: Target) -> AsyncIterator[Target]:
    """The target, checked whole after the test: warm first, so pools and caches are counted."""
    await target.normal_use()
    before = footprint(target.pid)
    yield target
    await target.assert_recovered(before)


@dataclass(frozen=True)
class Answer:
    """What a raw client got: the status line's code (None: closed without a response), the
    bytes, and how long after the last byte it sent the connection was closed."""

    status: int | None
    raw: bytes
    closed_after_s: float

    @property
    def body(self) -> bytes:
        return self.raw.partition(b"\r\n\r\n")[2]


async def raw_exchange(
    url: str, data: bytes, *, trickle: bytes = b"", every_s: float = 0.2, limit_s: float = 10.0
) -> Answer:
    """Send `data` on a fresh connection, then `trickle` one byte every `every_s` (a slow
    client) until the server answers or closes; read until it closes. A server that resets the
    connection mid-send is an answer too."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    received = bytearray()
    sent_at = time.monotonic()

    async def send() -> None:
        nonlocal sent_at
        try:
            for start in range(0, len(data), 65536):
                writer.write(data[start : start + 65536])
                await writer.drain()
            sent_at = time.monotonic()
            for byte in trickle:
                await asyncio.sleep(every_s)  # the attacker's own pace
                writer.write(bytes([byte]))
                await writer.drain()
                sent_at = time.monotonic()
        except (ConnectionError, OSError):
            pass

    sender = asyncio.create_task(send())
    try:
        async with asyncio.timeout(limit_s):
            while chunk := await reader.read(65536):
                received += chunk
    except (ConnectionError, OSError):
        pass
    finally:
        closed_at = time.monotonic()
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    status = None
    if received.startswith(b"HTTP/1.1 "):
        status = int(received[9:12])
    return Answer(status, bytes(received), closed_at - sent_at)
