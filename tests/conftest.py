"""Fixtures shared by every test package: real servers on 127.0.0.1, ephemeral ports.

One mock process serves the whole session; each test that takes `mock` starts from a reset
ledger, so the mock's evidence is about that test's streams only. Tests drive per-stream timing
and faults through `X-Mock-*` headers or the `[mock: ...]` prompt directive.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.servers import RunningProcess, serve_in_process

FAKE_KEY = "sk-test-0123456789abcdefSECRET"
"""The upstream key the service is given in tests; no byte the service sends may contain it."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-seconds",
        type=float,
        default=float(os.environ.get("GHOSTSTREAM_SOAK_S", "40")),
        help="how long the soak test's main load runs (default 40 s)",
    )


@dataclass(frozen=True)
class MockServer:
    url: str
    pid: int
    evidence: MockEvidence

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


@pytest.fixture(scope="session")
def mock_process() -> Iterator[RunningProcess]:
    """The mock, with a quick default schedule; tests override it per stream."""
    args = ["--log-level", "warning", "--ttft-ms", "50", "--itl-ms", "5", "--tokens", "20"]
    with serve_in_process("mock_llm", args) as server:
        yield server


@pytest.fixture
async def mock(mock_process: RunningProcess) -> AsyncIterator[MockServer]:
    evidence = MockEvidence(mock_process.url)
    await evidence.reset()
    yield MockServer(mock_process.url, mock_process.pid, evidence)


@dataclass(frozen=True)
class ServiceServer:
    url: str
    pid: int
    log: Path

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")


UPSTREAM_APIS = ("chat", "responses", "anthropic")
"""The dialects the service can relay; the protocol, error, cancellation and input suites run
against each (`pytestmark = upstream_apis`)."""
upstream_apis = pytest.mark.parametrize(
    "upstream_api", UPSTREAM_APIS, indirect=True, scope="session"
)


def service_env(mock_url: str, api: str = "chat", **settings: str) -> dict[str, str]:
    """All test requests come from 127.0.0.1: per-client limits are off unless a test sets them."""
    return {
        "LLM_API": api,
        "OPENAI_BASE_URL": f"{mock_url}/v1",
        "OPENAI_API_KEY": FAKE_KEY,
        "ANTHROPIC_BASE_URL": mock_url,
        "ANTHROPIC_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "info",
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
        "GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "100000",
        "GHOSTSTREAM_MAX_CONNECTIONS_PER_CLIENT": "0",
        # Above every stream a test asks for, so Anthropic's required cap cuts none of them.
        "GHOSTSTREAM_MAX_TOKENS_LIMIT": "2000000",
        **settings,
    }


@pytest.fixture(scope="session")
def upstream_api(request: pytest.FixtureRequest) -> str:
    """The dialect the service speaks to the mock: `chat`, unless a module parametrises it."""
    return str(getattr(request, "param", "chat"))


@pytest.fixture(scope="session")
def service_process(
    mock_process: RunningProcess, upstream_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceServer]:
    """The service relaying the session's mock, with production defaults."""
    log = tmp_path_factory.mktemp("service") / "service.log"
    env = service_env(mock_process.url, upstream_api)
    with serve_in_process("service", env=env, output=log) as server:
        yield ServiceServer(server.url, server.pid, log)


@pytest.fixture(scope="session")
def impatient_service_process(
    mock_process: RunningProcess, upstream_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceServer]:
    """The service with short timeouts and a fast heartbeat, to see them fire in a test's time."""
    log = tmp_path_factory.mktemp("impatient") / "service.log"
    env = service_env(
        mock_process.url,
        upstream_api,
        GHOSTSTREAM_FIRST_TOKEN_TIMEOUT_S="1.5",
        GHOSTSTREAM_IDLE_TIMEOUT_S="0.5",
        GHOSTSTREAM_HEARTBEAT_S="0.2",
    )
    with serve_in_process("service", env=env, output=log) as server:
        yield ServiceServer(server.url, server.pid, log)


@pytest.fixture
def service(service_process: ServiceServer, mock: MockServer) -> ServiceServer:
    """The service; taking it also resets the mock, so its evidence is this test's alone."""
    return service_process


@pytest.fixture
def impatient_service(impatient_service_process: ServiceServer, mock: MockServer) -> ServiceServer:
    return impatient_service_process
