"""The service's plain routes, its page, and the embedded mock that runs it offline."""

from __future__ import annotations

import resource
from pathlib import Path

import httpx

from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import serve_in_process
from mock_llm.directive import directive
from tests.conftest import MockServer, ServiceServer, service_env


async def test_health_and_personas(service: ServiceServer) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        health = await client.get("/healthz")
        personas = await client.get("/api/personas")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    body = personas.json()
    names = {p["name"]: p["label"] for p in body["personas"]}
    assert body["default"] in names
    assert names["pirate"] == "Pirate captain" and "assistant" in names
    assert "system_prompt" not in personas.text  # the prompts themselves stay on the server


async def test_page_and_its_assets_are_served(service: ServiceServer) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        page = await client.get("/")
        script = await client.get("/static/app.js")
        style = await client.get("/static/app.css")
        icon = await client.get("/favicon.ico")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for element in ('id="prompt"', 'id="generate"', 'id="stop"', 'id="output"', "aria-live"):
        assert element in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert icon.status_code == 204


async def test_with_no_upstream_configured_it_streams_from_the_embedded_mock() -> None:
    env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "LOG_LEVEL": "warning"}
    with serve_in_process("service", env=env) as server:
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{server.url}/healthz")).json()
        record = await timed_stream(
            f"{server.url}/ask-ai",
            method="GET",
            params={"prompt": directive(ttft_ms=10, itl_ms=1, mode="echo") + " Offline works."},
        )
    assert health["upstream"] == "embedded mock"
    assert record.ok and record.text == "Offline works."


async def test_a_stream_cap_beyond_the_open_files_limit_is_warned_about(
    mock: MockServer, tmp_path: Path
) -> None:
    """Two descriptors a stream: a cap the process cannot hold is said at start-up."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    log = tmp_path / "service.log"
    too_many = str(soft)  # needs twice that
    env = service_env(mock.url, GHOSTSTREAM_MAX_STREAMS=too_many, LOG_LEVEL="info")
    with serve_in_process("service", env=env, output=log):
        pass
    assert f"GHOSTSTREAM_MAX_STREAMS={too_many} needs about" in log.read_text()
    quiet = tmp_path / "quiet.log"
    fits = str(max(1, (soft - 64) // 2))
    with serve_in_process(
        "service", env=service_env(mock.url, GHOSTSTREAM_MAX_STREAMS=fits), output=quiet
    ):
        pass
    assert "needs about" not in quiet.read_text()
