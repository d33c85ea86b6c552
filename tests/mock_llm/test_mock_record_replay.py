"""Record a jittered stream from one mock, replay it from a second one loaded with the recording:
the client gets the same bytes (ids scrubbed) on the same schedule, the SDK the same text, and
a client that leaves mid-replay is recorded as cancelled at once.

The source mock's gaps are 40 to 60 ms (ITL 40, jitter 20) after an 80 ms TTFT, so machine noise
is small against them. Timing tolerance: each replayed read within 15 ms + 10 % of its recorded
offset (divided by `replay_speed`).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from ghoststream.harness.client import api_request, openai_body, timed_stream
from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.servers import RunningProcess, serve_in_process
from ghoststream.protocols import decoder_for
from mock_llm.recorder import capture, scenario_document, write
from mock_llm.recording import ID_PATTERN, Recording, ids_in, scrub
from mock_llm.scenarios import load

BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]
PROMPT = "Tell me about the sea"
TOKENS = 12
SCHEDULE = ["--ttft-ms", "80", "--itl-ms", "40", "--jitter-ms", "20", "--tokens", str(TOKENS)]
SECRET = "sk-record-0123456789SECRET"
TOLERANCE_MS, TOLERANCE_SHARE = 15.0, 0.10
NOTICE_S = 0.100
PLACEHOLDER = re.compile(rb"[a-z]+[-_]recorded\d+")


def _text(recording: Recording) -> str:
    decoder = decoder_for(recording.api)
    return "".join(decoder.feed(recording.body))


def _without_ids(body: bytes) -> bytes:
    return ID_PATTERN.sub(b"<id>", body)


@pytest.fixture(scope="module")
def source() -> Iterator[RunningProcess]:
    """The mock recorded from: a jittered schedule, so the recording is not a regular grid."""
    with serve_in_process("mock_llm", [*SCHEDULE, "--log-level", "warning"]) as server:
        yield server


@pytest.fixture(scope="module")
def original(source: RunningProcess) -> Recording:
    """One stream from the source as it arrived, before scrubbing (a warm-up request first, so
    the recorded TTFT holds no first-request start-up)."""
    request = api_request("chat", f"{source.url}/v1", PROMPT, key=SECRET)
    asyncio.run(capture("chat", request.url, request.body, request.headers))
    return asyncio.run(capture("chat", request.url, request.body, request.headers))


@pytest.fixture(scope="module")
def scenario_file(original: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recorded") / "sea.yaml"
    write(path, scenario_document("sea", PROMPT, original))
    return path


@pytest.fixture(scope="module")
def replayer(scenario_file: Path) -> Iterator[RunningProcess]:
    """A second mock whose only scenario is the recording; its own schedule is quite different,
    so anything not replayed would show."""
    args = ["--scenarios", str(scenario_file), "--ttft-ms", "5", "--itl-ms", "1"]
    with serve_in_process("mock_llm", [*args, "--log-level", "warning"]) as server:
        yield server


async def _replayed(replayer: RunningProcess, **headers: str) -> Recording:
    request = api_request("chat", f"{replayer.url}/v1", PROMPT)
    return await capture("chat", request.url, request.body, {**request.headers, **headers})


async def test_the_replay_sends_the_recorded_bytes_with_only_the_ids_changed(
    original: Recording, replayer: RunningProcess
) -> None:
    replayed = await _replayed(replayer)
    assert (replayed.status, replayed.content_type) == (200, original.content_type)
    assert replayed.complete and replayed.body == scrub(original).body
    assert replayed.body != original.body, "the original's ids went out unscrubbed"
    assert _without_ids(replayed.body) == _without_ids(original.body)
    assert set(PLACEHOLDER.findall(replayed.body)) == {b"chatcmpl-recorded0"}


@pytest.mark.parametrize("speed", [1.0, 2.0], ids=["at-recorded-speed", "twice-as-fast"])
async def test_each_read_arrives_at_its_recorded_offset(
    original: Recording, replayer: RunningProcess, best_of: BestOf, speed: float
) -> None:
    expected = [chunk.at_ms / speed for chunk in original.chunks]
    assert len(expected) >= TOKENS and expected[-1] > 500 / speed  # a real schedule to match

    async def attempt() -> list[str]:
        replayed = await _replayed(replayer, **{"X-Mock-Replay-Speed": str(speed)})
        assert replayed.body == scrub(original).body
        got = [chunk.at_ms for chunk in replayed.chunks]
        if len(got) != len(expected):  # two sends coalesced into one read: a noisy moment
            return [f"{len(got)} reads, recorded {len(expected)}"]
        return [
            f"read {index}: {was:.1f} ms, recorded {want:.1f} ms"
            for index, (was, want) in enumerate(zip(got, expected, strict=True))
            if abs(was - want) > TOLERANCE_MS + TOLERANCE_SHARE * want
        ]

    await best_of(attempt)


async def test_the_openai_sdk_reads_the_replay_to_the_recorded_text(
    original: Recording, replayer: RunningProcess
) -> None:
    client = openai.AsyncOpenAI(base_url=f"{replayer.url}/v1", api_key="sk-any", max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    await client.close()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == _text(original) and len(text) > 20
    assert {chunk.id for chunk in chunks} == {"chatcmpl-recorded0"}
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == TOKENS


async def test_the_ledger_records_a_replay_with_its_tokens(replayer: RunningProcess) -> None:
    evidence = MockEvidence(replayer.url)
    await evidence.reset()
    await _replayed(replayer)
    entry = await evidence.only_request()
    assert (entry["outcome"], entry["mode"], entry["scenario"]) == ("completed", "replay", "sea")
    assert entry["tokens_sent"] == entry["tokens_planned"] == TOKENS
    assert entry["id"] == "chatcmpl-recorded0"
    assert 70 <= entry["ttft_ms"] <= 200 and 40 <= entry["itl_ms"] <= 60


async def test_a_recording_answers_only_on_the_route_it_was_recorded_from(
    replayer: RunningProcess,
) -> None:
    request = api_request("anthropic", replayer.url, PROMPT)
    async with httpx.AsyncClient(timeout=10) as client:
        generated = await client.post(request.url, json=request.body, headers=request.headers)
        assert generated.status_code == 200 and b"recorded" not in generated.content
        headers = {**request.headers, "X-Mock-Scenario": "sea"}
        refused = await client.post(request.url, json=request.body, headers=headers)
    assert refused.status_code == 400
    assert "recorded from the chat API" in refused.json()["error"]["message"]


async def test_a_client_that_leaves_mid_replay_is_recorded_as_cancelled_at_once(
    replayer: RunningProcess, best_of: BestOf
) -> None:
    evidence = MockEvidence(replayer.url)

    async def attempt() -> list[str]:
        await evidence.reset()
        record = await timed_stream(
            f"{replayer.url}/v1/chat/completions",
            openai_body(PROMPT),
            dialect="chat",
            abort_after_tokens=3,
        )
        assert record.aborted and record.aborted_at_wall is not None and record.tokens == 3
        entry = await evidence.only_request(wait_until_closed=5)
        assert (entry["outcome"], entry["tokens_sent"]) == ("cancelled", 3)
        assert entry["tokens_planned"] == TOKENS
        noticed = entry["ended_at"] - record.aborted_at_wall
        return [] if noticed <= NOTICE_S else [f"noticed after {noticed * 1000:.0f} ms"]

    await best_of(attempt)


def test_scrubbing_removes_every_id_and_the_key(original: Recording, scenario_file: Path) -> None:
    written = scenario_file.read_text(encoding="utf-8")
    found = {i for i in ids_in(original.chunks) if b"recorded" not in i}
    assert found, "the source sent no ids to scrub"
    assert not [i for i in found if i.decode() in written]
    assert SECRET not in written and "authorization" not in written.lower()
    assert "x-request-id" not in original.headers or original.headers["x-request-id"] not in written
    [scenario] = load(scenario_file)
    assert scenario.recording is not None and scenario.substring == PROMPT


def test_the_record_command_writes_a_scrubbed_scenario_file(
    source: RunningProcess, tmp_path: Path
) -> None:
    """The command the README shows, end to end: the key from $OPENAI_API_KEY reaches the
    endpoint and never the file."""
    out = tmp_path / "hello.yaml"
    command = [sys.executable, "-m", "mock_llm", "record", "--target", f"{source.url}/v1"]
    command += ["--api", "chat", "--prompt", PROMPT, "--out", str(out)]
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    httpx.post(f"{source.url}/mock/reset").raise_for_status()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [sent] = httpx.get(f"{source.url}/mock/requests").json()["requests"]
    assert sent["request_headers"]["authorization"] == "[redacted]"  # a key was sent
    written = out.read_text(encoding="utf-8")
    assert sent["id"] not in written and SECRET not in written
    document: dict[str, Any] = yaml.safe_load(written)
    [scenario] = document["scenarios"]
    recording = scenario["recording"]
    assert (scenario["match"], recording["api"], recording["status"]) == (PROMPT, "chat", 200)
    headers = recording["headers"]
    assert headers["x-request-id"] == "req_recorded0" and headers["cache-control"] == "no-cache"
    assert not {"date", "server", "transfer-encoding", "content-type"} & set(headers)
    assert len(recording["chunks"]) >= TOKENS


def test_the_record_command_writes_nothing_when_the_endpoint_is_unreachable(
    tmp_path: Path,
) -> None:
    out = tmp_path / "none.yaml"
    command = [sys.executable, "-m", "mock_llm", "record", "--target", "http://127.0.0.1:1/v1"]
    done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "nothing written" in done.stderr
    assert not out.exists()


APIS = ("chat", "responses", "anthropic", "completions")


@pytest.fixture(scope="module")
def every_api(
    source: RunningProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProcess, dict[str, Recording]]]:
    """One recording per API, all in one scenario file, and a mock replaying them."""
    recorded: dict[str, Recording] = {}
    scenarios: list[Any] = []
    for api in APIS:
        request = api_request(api, source.url if api == "anthropic" else f"{source.url}/v1", api)
        recording = asyncio.run(capture(api, request.url, request.body, request.headers))
        recorded[api] = recording
        scenarios += scenario_document(api, f"recorded in {api}", recording)["scenarios"]
    path = tmp_path_factory.mktemp("apis") / "apis.yaml"
    write(path, {"scenarios": scenarios})
    with serve_in_process("mock_llm", ["--scenarios", str(path), "--log-level", "warning"]) as rep:
        yield rep, recorded


@pytest.mark.parametrize("api", APIS)
async def test_every_api_is_replayed_byte_for_byte_on_its_own_route(
    every_api: tuple[RunningProcess, dict[str, Recording]], api: str
) -> None:
    replayer, recorded = every_api
    root = replayer.url if api == "anthropic" else f"{replayer.url}/v1"
    request = api_request(api, root, f"recorded in {api}")
    replayed = await capture(api, request.url, request.body, request.headers)
    original = recorded[api]
    assert replayed.body == scrub(original).body and _text(replayed) == _text(original)
    assert _without_ids(replayed.body) == _without_ids(original.body) != original.body
