"""The service, tested with nothing but the installed ghoststream: its pytest plugin's mock LLM
upstream, its timing client and assertions, and its probe."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from own_service.app import create_app
from own_service.wire import FORMAT

from ghoststream.harness.assertions import (
    assert_completed,
    assert_no_bunching,
    assert_ttft_within,
    assert_upstream_cancelled,
)
from ghoststream.harness.client import timed_stream
from ghoststream.harness.servers import serve_in_thread
from ghoststream.probe import main as probe
from ghoststream.pytest_plugin import MockLLM

LOCUSTFILE = Path(__file__).resolve().parent.parent / "locustfile.py"


@pytest.fixture
def service(mock_llm: MockLLM) -> Iterator[str]:
    with serve_in_thread(create_app(mock_llm.base_url)) as url:
        yield url


@pytest.mark.mock_llm(ttft_ms=200, itl_ms=20, tokens=10)
async def test_the_answer_streams_token_by_token(service: str, mock_llm: MockLLM) -> None:
    record = await timed_stream(f"{service}/chat", {"q": "Hello"}, dialect=FORMAT)
    assert_completed(record)
    assert record.tokens == 10
    assert_ttft_within(record, 190, 2000)
    assert_no_bunching(record, itl_ms=20)
    [upstream] = mock_llm.requests()
    assert upstream["request_body"]["messages"] == [{"role": "user", "content": "Hello"}]
    assert upstream["request_headers"]["authorization"] == "[redacted]"


@pytest.mark.mock_llm(tokens=1000, itl_ms=10)
async def test_leaving_cancels_the_upstream(service: str, mock_llm: MockLLM) -> None:
    record = await timed_stream(
        f"{service}/chat", {"q": "long"}, dialect=FORMAT, abort_after_tokens=3
    )
    [upstream] = await mock_llm.arequests()
    assert_upstream_cancelled(record, upstream, within_ms=1000)


@pytest.mark.mock_llm(fault="drop_midstream")
async def test_a_dropped_upstream_does_not_end_like_an_answer(service: str) -> None:
    record = await timed_stream(f"{service}/chat", {"q": "Hello"}, dialect=FORMAT)
    with pytest.raises(AssertionError, match="end with 'done'"):
        assert_completed(record)


def test_the_probe_meets_its_slo(service: str, capsys: pytest.CaptureFixture[str]) -> None:
    probe([
        "--url", f"{service}/chat", "--format", FORMAT, "--body", '{"q": "{prompt}"}',
        "--streams", "5", "--concurrency", "5", "--slo-ttft-ms", "2000", "--json",
    ])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["met_slo"] == 5 and report["goodput_per_s"] > 0


def test_locust_users_stream_with_the_services_format(service: str, tmp_path: Path) -> None:
    records = tmp_path / "own.jsonl"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", service,
        "--format", FORMAT, "--headless", "-u", "3", "-r", "3", "-t", "3s",
        "--tokens", "10", "--itl-ms", "20", "--records", str(records),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(text) for text in records.read_text().splitlines()]
    finished = [line for line in lines if not line["stopped"]]
    assert finished and all(line["passed"] and line["tokens"] == 10 for line in finished)
    assert "ghoststream raw per-stream summary" in done.stdout
