"""Servers and options for the benchmarks; every server is a real process on an ephemeral port.

`--quick` runs every benchmark once on small samples (CI does this so none rots); figures come
from a full run. `--target-url` points the latency probes at any OpenAI-compatible API instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.endpoints import Endpoint
from benchmarks.nginx_relay import nginx_binary, serve_nginx, version
from benchmarks.report import Report
from ghoststream.harness.servers import serve_in_process

_REPORT = pytest.StashKey[Report]()
FAKE_KEY = "sk-bench-not-a-real-key"
UNLIMITED = {  # all benchmark load comes from one address
    "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
    "GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "1000000",
    "GHOSTSTREAM_MAX_CONNECTIONS_PER_CLIENT": "0",
    "GHOSTSTREAM_MAX_STREAMS": "1000000",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ghoststream benchmarks")
    group.addoption("--quick", action="store_true", help="small samples: check the suite runs")
    group.addoption("--report-dir", default="reports/bench", help="where summary.md and charts go")
    group.addoption("--target-url", default=None, help="OpenAI-compatible base URL to probe")
    group.addoption("--target-key", default=os.environ.get("TARGET_API_KEY"), help="its API key")
    group.addoption("--target-model", default="gpt-4o-mini", help="its model")
    group.addoption(
        "--target-api",
        default="chat",
        help="its API's dialect (chat, responses, anthropic, completions), or with "
        "--target-format a stream format read at --target-url as given",
    )
    group.addoption(
        "--target-format",
        default=None,
        help="a registered stream format: --target-url is then your own route, GET",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Full sweeps take minutes, not the test suite's two-minute limit per test."""
    for item in items:
        item.add_marker(pytest.mark.timeout(900))


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT] = Report(quick=bool(config.getoption("--quick")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = session.config.stash.get(_REPORT, None)
    if report is not None and report.figures:
        path = report.write(Path(session.config.getoption("--report-dir")))
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"benchmark report: {path}")
            reporter.write_line(path.read_text())


@pytest.fixture(scope="session")
def report(pytestconfig: pytest.Config) -> Report:
    return pytestconfig.stash[_REPORT]


@pytest.fixture(scope="session")
def quick(pytestconfig: pytest.Config) -> bool:
    return bool(pytestconfig.getoption("--quick"))


@pytest.fixture(scope="session")
def mock() -> Iterator[Endpoint]:
    with serve_in_process("mock_llm", ["--log-level", "warning"]) as server:
        yield Endpoint("direct", server.url, server.pid)


def _relay_env(mock: Endpoint) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{mock.base_url}/v1", "OPENAI_API_KEY": FAKE_KEY}


@contextmanager
def serve_service(mock: Endpoint, api: str = "chat", workers: int = 1) -> Iterator[Endpoint]:
    """The service relaying the benchmarks' mock in the upstream dialect `api`."""
    env = {
        **_relay_env(mock),
        "ANTHROPIC_BASE_URL": mock.base_url,
        "ANTHROPIC_API_KEY": FAKE_KEY,
        "LLM_API": api,
        "LOG_LEVEL": "warning",
        **UNLIMITED,
    }
    with serve_in_process("service", ["--workers", str(workers)], env=env) as server:
        yield Endpoint("service", server.url, server.pid, "ghoststream")


@pytest.fixture(scope="session")
def service(mock: Endpoint) -> Iterator[Endpoint]:
    with serve_service(mock) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def naive(mock: Endpoint) -> Iterator[Endpoint]:
    with serve_in_process("benchmarks.naive_relay", [], env=_relay_env(mock)) as server:
        yield Endpoint("naive", server.url, server.pid, "raw")


@pytest.fixture(scope="session")
def nginx(mock: Endpoint, report: Report) -> Iterator[Endpoint | None]:
    """nginx passing the mock's streams through, the yardstick; None (and a line in the
    report) where nginx is not installed."""
    binary = nginx_binary()
    if binary is None:
        report.add("baselines", "nginx", math.nan, "", "not installed (apt-get install nginx)")
        yield None
        return
    report.add("baselines", f"nginx {version(binary)}", 1, "worker", "proxy_buffering off")
    with serve_nginx(binary, mock) as endpoint:
        yield endpoint
