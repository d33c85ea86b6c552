"""Production hardening: limits, auth, browser headers, metrics, and shutdown with open streams."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import RunningProcess, serve_in_process
from ghoststream.protocols.sse import decode_all
from mock_llm.directive import directive
from service.security import with_cors
from tests.conftest import FAKE_KEY, MockServer, ServiceServer
from tests.scrape import metric, wait_for_metric

LONG = directive(ttft_ms=0, itl_ms=100, tokens=10_000) + " Keep going."
QUICK = directive(ttft_ms=0, itl_ms=0, tokens=2) + " Hi."


@pytest.fixture
def configured_service(mock: MockServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A service with the settings given by `@pytest.mark.parametrize(..., indirect=True)`."""
    env = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "warning",
        **request.param,
    }
    with serve_in_process("service", env=env) as server:
        yield server.url


@pytest.fixture
async def open_streams() -> AsyncIterator[list[asyncio.Task[bytes]]]:
    """Long streams opened by a test; each task has seen its first token when `opened` is set."""
    tasks: list[asyncio.Task[bytes]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def hold_stream(
    url: str, opened: asyncio.Event, headers: dict[str, str] | None = None
) -> bytes:
    """A long stream; `opened` is set at its first token. Returns every byte received."""
    body = b""
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream(
            "GET", f"{url}/ask-ai", params={"prompt": LONG}, headers=headers
        ) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                body += chunk
                if b"event: token" in body:
                    opened.set()
    return body


async def open_long_streams(url: str, count: int, tasks: list[asyncio.Task[bytes]]) -> None:
    events = [asyncio.Event() for _ in range(count)]
    tasks.extend(asyncio.create_task(hold_stream(url, event)) for event in events)
    async with asyncio.timeout(10):
        await asyncio.gather(*(event.wait() for event in events))


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    if status in (429, 503):
        assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "configured_service",
    [{"GHOSTSTREAM_RATE_PER_CLIENT_S": "0.5", "GHOSTSTREAM_RATE_BURST": "3"}],
    indirect=True,
)
async def test_request_rate_over_the_bucket_is_refused(configured_service: str) -> None:
    async with httpx.AsyncClient(base_url=configured_service) as client:
        answers = [await client.get("/ask-ai", params={"prompt": QUICK}) for _ in range(4)]
    for ok in answers[:3]:
        assert ok.status_code == 200 and "event: done" in ok.text
    refused(answers[3], 429, "too_many_requests")
    assert answers[3].json()["error"]["retry_after"] > 0


@pytest.mark.parametrize(
    "configured_service",
    [{"GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "2", "GHOSTSTREAM_RATE_PER_CLIENT_S": "0"}],
    indirect=True,
)
async def test_per_client_stream_cap_frees_its_slot_on_cancel(
    configured_service: str, open_streams: list[asyncio.Task[bytes]]
) -> None:
    await open_long_streams(configured_service, 2, open_streams)
    async with httpx.AsyncClient(base_url=configured_service) as client:
        refused(await client.get("/ask-ai", params={"prompt": QUICK}), 429, "too_many_streams")
        open_streams[0].cancel()  # the client leaves: its slot must come back
        await wait_for_metric(configured_service, "ghoststream_open_streams", 1)
        third = await client.get("/ask-ai", params={"prompt": QUICK})
    assert third.status_code == 200 and "event: done" in third.text


@pytest.mark.parametrize(
    "configured_service",
    [{"GHOSTSTREAM_MAX_STREAMS": "3", "GHOSTSTREAM_RATE_PER_CLIENT_S": "0"}],
    indirect=True,
)
async def test_global_stream_cap_answers_503(
    configured_service: str, open_streams: list[asyncio.Task[bytes]]
) -> None:
    await open_long_streams(configured_service, 3, open_streams)
    async with httpx.AsyncClient(base_url=configured_service) as client:
        refused(await client.get("/ask-ai", params={"prompt": QUICK}), 503, "over_capacity")
        assert (await client.get("/healthz")).status_code == 200  # only streams are capped


@pytest.mark.parametrize("configured_service", [{"GHOSTSTREAM_MAX_STREAM_S": "0.6"}], indirect=True)
async def test_a_stream_over_its_total_deadline_ends_with_deadline_exceeded(
    configured_service: str, mock: MockServer
) -> None:
    record = await timed_stream(
        f"{configured_service}/ask-ai", method="GET", params={"prompt": LONG}, timeout=10
    )
    assert record.error_code == "deadline_exceeded"
    assert 0.6 <= (record.duration or 0) < 2.0
    assert (await mock.evidence.only_request())["outcome"] == "cancelled"


@pytest.mark.parametrize(
    "configured_service", [{"SERVICE_API_KEYS": "key-one,key-two"}], indirect=True
)
async def test_with_auth_on_only_listed_keys_stream(configured_service: str) -> None:
    async with httpx.AsyncClient(base_url=configured_service) as client:
        missing = await client.get("/ask-ai", params={"prompt": QUICK})
        wrong = await client.get(
            "/ask-ai", params={"prompt": QUICK}, headers={"authorization": "Bearer key-three"}
        )
        right = await client.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": QUICK}]},
            headers={"authorization": "Bearer key-two"},
        )
        page = await client.get("/")
    for response in (missing, wrong):
        refused(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "key-one" not in response.text and "key-two" not in response.text
    assert right.status_code == 200 and "event: done" in right.text
    assert page.status_code == 200  # the page stays public: it is where a key is pasted


async def test_with_auth_off_no_key_is_needed(service: ServiceServer) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        response = await client.get("/ask-ai", params={"prompt": QUICK})
    assert response.status_code == 200 and "event: done" in response.text


async def test_page_carries_a_strict_content_security_policy(service: ServiceServer) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        page = await client.get("/")
        stream = await client.get("/ask-ai", params={"prompt": QUICK})
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert stream.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in page.headers  # no CORS unless configured


@pytest.mark.parametrize(
    "configured_service",
    [{"GHOSTSTREAM_CORS_ORIGINS": "https://app.example"}],
    indirect=True,
)
async def test_cors_allows_only_listed_origins(configured_service: str) -> None:
    async with httpx.AsyncClient(base_url=configured_service) as client:
        allowed = await client.get(
            "/ask-ai", params={"prompt": QUICK}, headers={"origin": "https://app.example"}
        )
        other = await client.get(
            "/ask-ai", params={"prompt": QUICK}, headers={"origin": "https://evil.example"}
        )
        preflight = await client.options(
            "/api/chat",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_a_wildcard_cors_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="wildcard"):
        with_cors(object(), ["*"])


async def test_metrics_move_as_streams_start_finish_cancel_and_fail(
    service: ServiceServer, mock: MockServer
) -> None:
    url = service.url
    names = {
        "done": 'ghoststream_streams_total{outcome="done"}',
        "cancelled": 'ghoststream_streams_total{outcome="cancelled"}',
        "error": 'ghoststream_stream_errors_total{code="upstream_error"}',
        "rejected": 'ghoststream_rejections_total{code="empty_prompt"}',
        "tokens": "ghoststream_tokens_relayed_total",
        "cancelled_tokens": "ghoststream_cancelled_stream_tokens_total",
        "ttft": "ghoststream_ttft_seconds_count",
    }
    before = {key: await metric(url, name) for key, name in names.items()}
    get = f"{url}/ask-ai"
    await timed_stream(get, method="GET", params={"prompt": QUICK})
    await timed_stream(get, method="GET", params={"prompt": LONG}, abort_after_tokens=2)
    fault = directive(ttft_ms=0, itl_ms=0, fault="error_midstream", fault_after=1) + " x"
    await timed_stream(get, method="GET", params={"prompt": fault})
    async with httpx.AsyncClient() as client:
        await client.get(get, params={"prompt": " "})
    await mock.evidence.requests(wait_until_closed=5)
    await wait_for_metric(url, "ghoststream_open_streams", 0)
    after = {key: await metric(url, name) for key, name in names.items()}
    moved = {key: after[key] - before[key] for key in names}
    assert moved["done"] == 1 and moved["cancelled"] == 1 and moved["error"] == 1
    assert moved["rejected"] == 1
    assert moved["tokens"] >= 2 + 2 + 1
    assert 2 <= moved["cancelled_tokens"] <= 4  # the cancelled stream's tokens, no others
    assert moved["ttft"] == 3


async def test_sigterm_ends_every_open_stream_and_exits_in_time(mock: MockServer) -> None:
    grace = 1
    env = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "warning",
        "GHOSTSTREAM_SHUTDOWN_GRACE_S": str(grace),
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
        "GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "1000",
    }
    opened = [asyncio.Event() for _ in range(50)]
    with serve_in_process("service", env=env) as server:
        process: RunningProcess = server
        tasks = [asyncio.create_task(hold_stream(server.url, event)) for event in opened]
        async with asyncio.timeout(15):
            await asyncio.gather(*(event.wait() for event in opened))
        signalled = time.monotonic()
        process.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.process.wait, grace + 5)
        exited_after = time.monotonic() - signalled
        async with asyncio.timeout(5):
            bodies = await asyncio.gather(*tasks)
    assert exited_after <= grace + 1.0, exited_after
    assert len(bodies) == 50
    for body in bodies:
        events = list(decode_all([body]))
        assert events[-1].event == "error", events[-3:]
        payload = json.loads(events[-1].data)
        assert payload["code"] == "shutdown" and payload["retryable"] is True
    records = await mock.evidence.requests(wait_until_closed=5)
    assert len(records) == 50
    assert all(record["outcome"] != "open" for record in records)
