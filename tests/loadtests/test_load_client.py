"""The Locust users' stream reader, in-process against the real mock and service.

It is a blocking client here (no gevent), so the async tests run it in a thread.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import TYPE_CHECKING

from ghoststream.harness.client import chat_body, openai_body
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.servers import RunningProcess, listening_socket
from ghoststream.load.outcome import Expectation, failure
from ghoststream.load.stream_client import StreamRequest, read_stream
from mock_llm.directive import directive

if TYPE_CHECKING:
    from tests.conftest import MockServer


def ask(base: str, prompt: str, abort_after_tokens: int | None = None) -> StreamRecord:
    request = StreamRequest(
        f"{base}/ask-ai", params={"prompt": prompt}, abort_after_tokens=abort_after_tokens
    )
    return read_stream(request, StreamRecord(started_at=time.perf_counter()))


def test_each_token_is_stamped_when_it_arrives(service: RunningProcess) -> None:
    """TTFT close to the mock's 200 ms, and gaps of about 20 ms: nothing bunched up in a buffer
    (a 1 KiB block reader would see the first token about 440 ms late, then a burst of ~0 gaps)."""
    body = json.dumps(chat_body(directive(ttft_ms=200, itl_ms=20, tokens=50) + " hi")).encode()
    request = StreamRequest(f"{service.url}/api/chat", "POST", body=body)
    record = read_stream(request, StreamRecord(started_at=time.perf_counter()))
    assert record.ok and record.tokens == 50, record
    assert record.ttft is not None and 0.195 <= record.ttft <= 0.300
    assert 0.015 <= statistics.median(record.gaps) <= 0.025
    bunched = [gap for gap in record.gaps if gap < 0.002]
    assert len(bunched) < len(record.gaps) // 10, record.gaps


async def test_abort_after_k_tokens_cancels_the_upstream(
    service: RunningProcess, mock: MockServer
) -> None:
    prompt = directive(ttft_ms=20, itl_ms=20, tokens=200) + " hi"
    record = await asyncio.to_thread(ask, service.url, prompt, abort_after_tokens=5)
    assert record.aborted and 5 <= record.tokens < 200
    assert failure(record, Expectation(abort_after_tokens=5)) is None
    assert failure(record) == "closed early by the client"
    upstream = await mock.evidence.only_request()
    assert upstream["outcome"] == "cancelled"


async def test_a_stalled_stream_ends_at_its_time_bound(mock: MockServer) -> None:
    prompt = directive(ttft_ms=10, itl_ms=10, tokens=50, fault="stall_midstream", fault_after=2)
    body = json.dumps(openai_body(prompt)).encode()
    request = StreamRequest(
        f"{mock.url}/v1/chat/completions", "POST", body=body, dialect="chat", timeout_s=0.5
    )
    started = time.perf_counter()
    record = await asyncio.to_thread(read_stream, request, StreamRecord(started_at=started))
    assert record.tokens == 2 and record.transport_error == "no end after 0.5 s"
    assert (failure(record) or "").startswith("hang:")
    assert time.perf_counter() - started < 2.0


def test_an_error_event_fails_unless_that_fault_was_asked_for(service: RunningProcess) -> None:
    prompt = directive(ttft_ms=10, itl_ms=10, tokens=20, fault="error_midstream", fault_after=3)
    record = ask(service.url, prompt)
    assert record.terminal == "error" and record.error_code == "upstream_error"
    assert failure(record) == "error event upstream_error"
    assert failure(record, Expectation(fault="error_midstream")) is None
    assert failure(record, Expectation(fault="drop_midstream")) == (
        "fault drop_midstream surfaced as upstream_error, not upstream_disconnected"
    )


def test_an_http_error_keeps_its_status_and_code(service: RunningProcess) -> None:
    record = ask(service.url, "")
    assert record.status == 400
    assert failure(record) == "HTTP 400 empty_prompt"


def test_a_refused_connection_is_a_transport_failure() -> None:
    sock = listening_socket()
    host, port = sock.getsockname()[:2]
    sock.close()
    record = ask(f"http://{host}:{port}", "hi")
    assert (failure(record) or "").startswith("transport: connect failed")
    assert record.ended_at is not None
