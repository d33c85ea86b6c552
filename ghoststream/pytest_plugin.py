"""The pytest plugin (`pytest11` entry point `ghoststream`): a real mock LLM for your tests.

    def test_my_service_streams(mock_llm):           # mock_llm.base_url for the openai SDK,
        ...                                           # mock_llm.url for the anthropic SDK
        [upstream] = mock_llm.requests()              # what your service sent, and how it ended

    @pytest.mark.mock_llm(ttft_ms=500, fault="http_503")   # this test's schedule and fault

One mock serves the session on an ephemeral loopback port (in a thread, so a test can steer
it from Python); each test starts from an empty ledger and the default schedule. `mock_llm_app`
is the same mock as a plain ASGI app, for tests that want no sockets at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.servers import serve_in_thread
from ghoststream.mock import (
    MockApp,
    MockConfig,
    Scenario,
    ScenarioLike,
    catch_all,
    create_app,
    parse_scenarios,
    quiet_dropped_connections,
    use_scenarios,
)

DEFAULTS = MockConfig(ttft_ms=50.0, itl_ms=5.0, tokens=20)
"""A quick schedule, so a suite of streams runs in seconds; a test asks for a slower one."""
MARKER = "mock_llm"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenarios=[...], **controls): the mock's schedule and fault for this test "
        "(any control: ttft_ms, itl_ms, tokens, fault, ...; scenarios as in a scenario file)",
    )


def _scenarios_for(request: pytest.FixtureRequest) -> list[Scenario]:
    chosen: list[Scenario] = []
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest marker last
        kwargs = dict(marker.kwargs)
        chosen[:0] = parse_scenarios(kwargs.pop("scenarios", ()))
        if kwargs:
            chosen.append(catch_all(kwargs))
    return chosen


@dataclass
class MockLLM:
    """The session's mock, as one test sees it."""

    url: str
    """The root URL, as the anthropic SDK takes it."""
    app: MockApp

    @property
    def base_url(self) -> str:
        """The `/v1` URL, as the openai SDK takes it."""
        return f"{self.url}/v1"

    def use(self, *scenarios: ScenarioLike, **controls: object) -> None:
        """Steer this test's requests: scenarios first (first match wins), then `controls`
        (`ttft_ms=`, `fault=`, ...) for every request no scenario matched."""
        chosen = parse_scenarios(scenarios)
        if controls:
            chosen.append(catch_all(controls))
        use_scenarios(self.app, chosen)

    def requests(self, wait_until_closed: float = 5.0) -> list[dict[str, Any]]:
        """The ledger: one record per request since the test began (`outcome`, `tokens_sent`,
        `started_at`/`first_token_at`/`ended_at`, `request_id`, `request_body`,
        `request_headers`), after waiting up to `wait_until_closed` s for open streams to end.
        In an async test whose service runs on the test's own loop, await `arequests`."""
        params = {"wait_until_closed": wait_until_closed}
        response = httpx.get(
            f"{self.url}/mock/requests", params=params, timeout=wait_until_closed + 10
        )
        response.raise_for_status()
        return list(response.json()["requests"])

    async def arequests(self, wait_until_closed: float = 5.0) -> list[dict[str, Any]]:
        return await MockEvidence(self.url).requests(wait_until_closed)

    def reset(self) -> None:
        """Forget earlier requests and counters."""
        httpx.post(f"{self.url}/mock/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def mock_llm_server() -> Iterator[tuple[str, MockApp]]:
    """The mock on 127.0.0.1:<ephemeral>, for the whole session."""
    app = create_app(DEFAULTS)
    quiet_dropped_connections()
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def mock_llm(
    mock_llm_server: tuple[str, MockApp], request: pytest.FixtureRequest
) -> Iterator[MockLLM]:
    """The session's mock, reset for this test and steered by its `mock_llm` marker."""
    url, app = mock_llm_server
    mock = MockLLM(url, app)
    mock.reset()
    use_scenarios(app, _scenarios_for(request))
    try:
        yield mock
    finally:
        use_scenarios(app, [])


@dataclass
class MockLLMApp:
    """A mock of this test's own, as an ASGI app: no sockets, no threads."""

    app: MockApp
    url: str = "http://mock-llm"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client that calls the app in-process (pass it as the SDK's `http_client`);
        httpx's ASGI transport delivers the body at the end, so time nothing through it."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=self.url, **kwargs
        )

    def requests(self) -> list[dict[str, Any]]:
        return self.app.ledger.requests()


@pytest.fixture
def mock_llm_app(request: pytest.FixtureRequest) -> MockLLMApp:
    """A fresh in-process mock for this test, steered by its `mock_llm` marker."""
    known = _scenarios_for(request)
    app = create_app(DEFAULTS)
    use_scenarios(app, known)
    return MockLLMApp(app)
