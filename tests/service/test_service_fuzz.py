"""Schemathesis against the service's own OpenAPI schema: no input gives a 5xx, nothing hangs."""

from __future__ import annotations

from tests.conftest import ServiceServer
from tests.fuzzing import fuzz


def test_no_input_breaks_the_service(service_process: ServiceServer) -> None:
    seen = fuzz(f"{service_process.url}/openapi.json")
    assert {"GET /ask-ai", "POST /api/chat", "GET /api/personas"} <= set(seen)
