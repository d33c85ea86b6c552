"""Every upstream failure reaches the client as exactly one documented error event.

Each case also collects every byte the service sent; none may carry the upstream key or the
upstream's own error wording.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from ghoststream.harness.servers import listening_socket, serve_in_process
from ghoststream.protocols.sse import ServerSentEvent, decode_all
from mock_llm.directive import directive
from service.errors import STREAM_ERRORS
from tests.conftest import FAKE_KEY, MockServer, ServiceServer, service_env, upstream_apis

pytestmark = upstream_apis

UPSTREAM_WORDING = (b"Rate limit reached", b"Sorry about that", b"overloaded", b"chat.compl")


async def stream_bytes(url: str, prompt: str, timeout: float = 20) -> tuple[int, bytes]:
    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.get(f"{url}/ask-ai", params={"prompt": prompt})
    return response.status_code, response.content


def assert_one_error(body: bytes, code: str) -> ServerSentEvent:
    events = list(decode_all([body]))
    terminals = [e for e in events if e.event in ("done", "error")]
    assert [e.event for e in terminals] == ["error"], events
    assert terminals[0] is events[-1]
    assert FAKE_KEY.encode() not in body
    assert not any(wording in body for wording in UPSTREAM_WORDING), body
    error = terminals[0]
    payload = json.loads(error.data)
    assert payload["code"] == code
    assert payload["message"] == STREAM_ERRORS[code].message
    assert payload["retryable"] is STREAM_ERRORS[code].retryable
    return error


FAULTS = {
    "http_429 is rate_limited": ("http_429", "rate_limited", 0),
    "http_500 is upstream_unavailable": ("http_500", "upstream_unavailable", 0),
    "http_503 is upstream_unavailable": ("http_503", "upstream_unavailable", 0),
    "error_midstream is upstream_error": ("error_midstream", "upstream_error", 3),
    "drop_midstream is upstream_disconnected": ("drop_midstream", "upstream_disconnected", 3),
    "malformed_midstream is upstream_malformed": ("malformed_midstream", "upstream_malformed", 3),
}


@pytest.mark.parametrize(("fault", "code", "tokens_before"), FAULTS.values(), ids=FAULTS.keys())
async def test_fault_becomes_one_error_event(
    service: ServiceServer, fault: str, code: str, tokens_before: int
) -> None:
    prompt = directive(ttft_ms=0, itl_ms=1, fault=fault, fault_after=3, retry_after_ms=20) + " x"
    status, body = await stream_bytes(service.url, prompt)
    assert status == 200
    assert_one_error(body, code)
    tokens = [e for e in decode_all([body]) if e.event == "token"]
    if fault == "drop_midstream":
        # Bytes that arrive in the same read as an abrupt close are lost with it (aiohttp raises
        # before handing out its buffer); the error event still says the answer is incomplete.
        assert tokens_before - 1 <= len(tokens) <= tokens_before
    else:
        assert len(tokens) == tokens_before


async def test_rate_limit_carries_retry_after_and_is_retried_a_bounded_number_of_times(
    service: ServiceServer, mock: MockServer
) -> None:
    prompt = directive(fault="http_429", retry_after_ms=50) + " x"
    _, body = await stream_bytes(service.url, prompt)
    payload = json.loads(assert_one_error(body, "rate_limited").data)
    assert payload["retry_after"] == pytest.approx(0.05)
    attempts = await mock.evidence.requests()
    assert len(attempts) == 3  # the first try and two retries (GHOSTSTREAM_RETRY_ATTEMPTS=2)
    assert {a["outcome"] for a in attempts} == {"fault"}
    gaps = [b["started_at"] - a["started_at"] for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= 0.045 for gap in gaps), gaps  # Retry-After honoured


async def test_a_retry_after_beyond_the_cap_is_not_waited_out(
    service: ServiceServer, mock: MockServer
) -> None:
    _, body = await stream_bytes(service.url, directive(fault="http_429", retry_after_ms=60_000))
    payload = json.loads(assert_one_error(body, "rate_limited").data)
    assert payload["retry_after"] == 60
    assert len(await mock.evidence.requests()) == 1


async def test_no_retry_once_a_token_went_out(service: ServiceServer, mock: MockServer) -> None:
    prompt = directive(ttft_ms=0, itl_ms=1, fault="drop_midstream", fault_after=2) + " x"
    _, body = await stream_bytes(service.url, prompt)
    assert_one_error(body, "upstream_disconnected")
    assert len(await mock.evidence.requests()) == 1


async def test_stalled_upstream_ends_with_idle_timeout(
    impatient_service: ServiceServer, mock: MockServer
) -> None:
    prompt = directive(ttft_ms=0, itl_ms=1, fault="stall_midstream", fault_after=2) + " x"
    started = time.monotonic()
    _, body = await stream_bytes(impatient_service.url, prompt)
    # The idle timeout (0.5 s) applies, not the later first-token deadline (1.5 s).
    assert 0.5 <= time.monotonic() - started < 1.3
    assert_one_error(body, "idle_timeout")
    seen = await mock.evidence.only_request()
    assert seen["outcome"] == "cancelled"  # the service closed the stalled upstream


async def test_slow_first_token_ends_with_first_token_timeout(
    impatient_service: ServiceServer, mock: MockServer
) -> None:
    _, body = await stream_bytes(impatient_service.url, directive(ttft_ms=10_000) + " x")
    assert_one_error(body, "first_token_timeout")
    assert (await mock.evidence.only_request())["outcome"] == "cancelled"


@pytest.fixture(scope="module")
def keyed_mock() -> Iterator[str]:
    """A mock that insists on a different key than the service holds."""
    args = ["--log-level", "warning", "--api-key", "sk-the-right-key", "--ttft-ms", "0"]
    with serve_in_process("mock_llm", args) as server:
        yield server.url


async def test_rejected_key_is_upstream_auth(keyed_mock: str, upstream_api: str) -> None:
    env = service_env(keyed_mock, upstream_api)
    with serve_in_process("service", env=env) as service:
        _, body = await stream_bytes(service.url, "Hello?")
    assert_one_error(body, "upstream_auth")


async def test_unreachable_upstream_is_upstream_unreachable(upstream_api: str) -> None:
    closed = listening_socket()
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connections are refused
    env = service_env(f"http://127.0.0.1:{port}", upstream_api, GHOSTSTREAM_RETRY_ATTEMPTS="1")
    with serve_in_process("service", env=env) as service:
        _, body = await stream_bytes(service.url, "Hello?")
    assert_one_error(body, "upstream_unreachable")


def test_the_key_never_reaches_the_logs(service_process: ServiceServer) -> None:
    """Runs after the error cases above in this module (pytest keeps file order)."""
    log = service_process.read_log()
    assert "upstream failure" in log  # the error cases were logged...
    assert FAKE_KEY not in log  # ...without the key
    assert "Rate limit reached" not in log and "Sorry about that" not in log
