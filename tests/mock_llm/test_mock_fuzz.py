"""Schemathesis against the mock's OpenAPI schema: no input gives an unplanned 5xx or a hang.

The mock answers 500 and 503 only when a request asks for that fault, so a 5xx for input the
fuzzer made up is a bug.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ghoststream.harness.servers import RunningProcess, serve_in_process
from ghoststream.protocols import DIALECTS
from tests.fuzzing import fuzz


@pytest.fixture(scope="module")
def fuzzed_mock() -> Iterator[RunningProcess]:
    """Its own process: the fuzzer calls /mock/reset too."""
    args = ["--log-level", "warning", "--ttft-ms", "5", "--itl-ms", "1", "--tokens", "5"]
    with serve_in_process("mock_llm", args) as mock:
        yield mock


ROUTES = [d.path for d in DIALECTS.values()]


def test_no_input_breaks_the_mock(fuzzed_mock: RunningProcess) -> None:
    seen = fuzz(f"{fuzzed_mock.url}/openapi.json")
    routes = {f"POST {path}" for path in ROUTES}
    assert routes | {"GET /v1/models", "GET /mock/requests"} <= set(seen)
