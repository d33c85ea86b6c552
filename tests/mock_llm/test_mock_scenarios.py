"""Scenario files: parsed on their own, then served by a real mock started with `--scenarios`.

The same scenarios are written as hand-made YAML (a mapping with comments) and as JSON (a bare
list); every server test runs against both files.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.evidence import MockEvidence
from ghoststream.harness.records import StreamRecord
from ghoststream.harness.servers import serve_in_process
from mock_llm.content import split_text
from mock_llm.scenarios import Scenario, find, load, parse

BestOf = Callable[[Callable[[], Awaitable[list[str]]]], Awaitable[None]]
GREETING = "Hi! How can I help?"
BY_NAME = "Only when asked for by name.\nTwo lines."
SCENARIOS: list[dict[str, Any]] = [
    {"name": "greeting", "match": "hello", "text": GREETING, "ttft_ms": 120, "itl_ms": 15},
    {"name": "flaky", "match_regex": "(?i)^retry me", "fault": "http_503"},
    {"name": "ponder", "match": "ponder", "ttft_ms": 200, "itl_ms": 10, "tokens": 7},
    {"name": "cut-off", "match": "cut me off", "fault": "drop_midstream", "fault_after": 2},
    {"name": "hello-again", "match": "hello", "text": "never chosen: greeting matches first"},
    {"name": "by-name", "match_regex": "(?!)", "text": BY_NAME},
]
YAML = """\
# The mock's test scenarios; the first match wins.
scenarios:
  - name: greeting
    match: hello            # a case-insensitive substring of the last user message
    text: "Hi! How can I help?"
    ttft_ms: 120
    itl_ms: 15
  - name: flaky
    match_regex: "(?i)^retry me"
    fault: http_503
  - name: ponder
    match: ponder
    ttft_ms: 200
    itl_ms: 10
    tokens: 7
  - name: cut-off
    match: cut me off
    fault: drop_midstream
    fault_after: 2
  - name: hello-again
    match: hello
    text: "never chosen: greeting matches first"
  - name: by-name
    match_regex: "(?!)"     # never matches: reachable only as scenario=by-name
    text: |-
      Only when asked for by name.
      Two lines.
"""


# -- parsing, no sockets ---------------------------------------------------------------------


def test_the_yaml_and_json_fixtures_say_the_same_thing() -> None:
    assert yaml.safe_load(YAML) == {"scenarios": SCENARIOS}
    assert parse(yaml.safe_load(YAML)) == parse(SCENARIOS)


def test_parse_types_controls_and_makes_text_fixed() -> None:
    greeting, flaky, *_ = parse(SCENARIOS)
    assert greeting == Scenario(
        name="greeting",
        controls={"ttft_ms": 120.0, "itl_ms": 15.0, "mode": "fixed"},
        text=GREETING,
        substring="hello",
    )
    assert flaky.controls == {"fault": "http_503"} and flaky.text is None
    assert flaky.pattern is not None and flaky.substring is None


def test_an_explicit_mode_is_kept_even_with_text() -> None:
    (scenario,) = parse([{"name": "e", "match": "x", "text": "t", "mode": "echo"}])
    assert scenario.controls["mode"] == "echo"


def test_an_empty_mapping_has_no_scenarios() -> None:
    assert parse({}) == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (None, "holds a list"),
        ("just text", "holds a list"),
        ({"scenarios": {"name": "x"}}, "holds a list"),
        ([{"name": "ok"}, "not a mapping"], "scenario #1 must be a mapping"),
        ([{"match": "no name"}], "scenario #0 must be a mapping with a `name`"),
        ([{"name": "s", "fault": "http_418"}], "scenario 's': unknown fault 'http_418'"),
        ([{"name": "s", "ttft_ms": -1}], "scenario 's': mock control ttft_ms=-1 is out of range"),
        ([{"name": "s", "temperature": 1}], "scenario 's': unknown mock control 'temperature'"),
        ([{"name": "s", "match_regex": "(unclosed"}], "scenario 's': bad match_regex"),
    ],
    ids=[
        "empty-file",
        "a-string",
        "scenarios-not-a-list",
        "an-item-not-a-mapping",
        "an-item-without-a-name",
        "unknown-fault",
        "negative-ttft",
        "unknown-key",
        "bad-regex",
    ],
)
def test_parse_rejects_bad_documents_naming_the_scenario(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(document)


@pytest.mark.parametrize(
    ("prompt", "name", "expected"),
    [
        ("Well, HELLO there", None, "greeting"),
        ("retry me please", None, "flaky"),
        ("please retry me", None, None),
        ("nothing matches", None, None),
        ("hello", "by-name", "by-name"),
        ("hello", "missing", None),
    ],
    ids=[
        "substring-any-case",
        "regex-searches",
        "regex-anchor-holds",
        "no-match",
        "a-name-wins-over-matching",
        "an-unknown-name-finds-nothing",
    ],
)
def test_find(prompt: str, name: str | None, expected: str | None) -> None:
    found = find(parse(SCENARIOS), prompt, name)
    assert (found.name if found else None) == expected


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_load_reads_json_by_extension_and_yaml_otherwise(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"scenarios{suffix}"
    path.write_text(json.dumps(SCENARIOS) if suffix == ".json" else YAML, encoding="utf-8")
    assert [scenario.name for scenario in load(path)] == [item["name"] for item in SCENARIOS]


def test_a_mock_with_a_bad_scenario_file_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("scenarios:\n  - name: s\n    fault: http_418\n", encoding="utf-8")
    log = tmp_path / "mock.log"
    args = ["--scenarios", str(path)]
    with serve_in_process("mock_llm", args, output=log, ready_path=None) as server:
        assert server.process.wait(timeout=30) != 0
    assert "scenario 's': unknown fault 'http_418'" in log.read_text()


# -- served by a real mock --------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioMock:
    url: str
    evidence: MockEvidence

    @property
    def chat(self) -> str:
        return f"{self.url}/v1/chat/completions"


def _late(record: StreamRecord, ttft_ms: float, itl_ms: float) -> list[str]:
    """Never early (asserted); late beyond 60 ms TTFT or 3 ms median gap (returned)."""
    assert record.ttft is not None and record.ttft * 1000 >= ttft_ms - 5, "first token early"
    problems = []
    if record.ttft * 1000 > ttft_ms + 60:
        problems.append(f"TTFT {record.ttft * 1000:.1f} ms for {ttft_ms} ms")
    gap = statistics.median(record.gaps) * 1000
    if abs(gap - itl_ms) > 3:
        problems.append(f"median gap {gap:.1f} ms for {itl_ms} ms")
    return problems


@pytest.fixture(scope="module", params=["yaml", "json"])
def scenario_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    path = tmp_path_factory.mktemp("scenarios") / f"scenarios.{request.param}"
    path.write_text(YAML if request.param == "yaml" else json.dumps(SCENARIOS), encoding="utf-8")
    args = ["--log-level", "warning", "--scenarios", str(path), "--ttft-ms", "50", "--itl-ms", "5"]
    with serve_in_process("mock_llm", [*args, "--tokens", "20"]) as server:
        yield server.url


@pytest.fixture
async def served(scenario_process: str) -> ScenarioMock:
    evidence = MockEvidence(scenario_process)
    await evidence.reset()
    return ScenarioMock(scenario_process, evidence)


async def test_a_substring_match_streams_the_fixed_text_on_its_schedule(
    served: ScenarioMock, best_of: BestOf
) -> None:
    async def attempt() -> list[str]:
        await served.evidence.reset()
        record = await timed_stream(served.chat, openai_body("Well, HELLO there"), dialect="chat")
        assert record.ok and record.text == GREETING
        assert record.texts == split_text(GREETING)
        entry = await served.evidence.only_request()
        assert (entry["scenario"], entry["mode"]) == ("greeting", "fixed")
        assert entry["tokens_planned"] == entry["tokens_sent"] == len(split_text(GREETING))
        return _late(record, ttft_ms=120, itl_ms=15)

    await best_of(attempt)


async def test_a_regex_match_injects_its_http_fault(served: ScenarioMock) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        hit = await client.post(served.chat, json=openai_body("Retry me, please"))
        miss = await client.post(served.chat, json=openai_body("please retry me"))
    assert hit.status_code == 503 and hit.json()["error"]["type"] == "server_error"
    assert miss.status_code == 200, "the anchored regex must not match mid-sentence"
    first, second = await served.evidence.requests()
    assert (first["scenario"], first["outcome"]) == ("flaky", "fault")
    assert (second["scenario"], second["outcome"]) == (None, "completed")


async def test_a_scenario_may_set_only_the_schedule_of_prose(
    served: ScenarioMock, best_of: BestOf
) -> None:
    async def attempt() -> list[str]:
        await served.evidence.reset()
        record = await timed_stream(served.chat, openai_body("let me ponder this"), dialect="chat")
        assert record.ok and record.tokens == 7 and record.text[0].isupper()
        entry = await served.evidence.only_request()
        assert (entry["scenario"], entry["mode"], entry["ttft_ms"]) == ("ponder", "prose", 200)
        return _late(record, ttft_ms=200, itl_ms=10)

    await best_of(attempt)


async def test_a_scenario_may_inject_a_midstream_fault(served: ScenarioMock) -> None:
    record = await timed_stream(served.chat, openai_body("please cut me off"), dialect="chat")
    assert record.tokens == 2 and record.terminal is None
    assert record.transport_error == "connection lost before the stream ended"
    entry = await served.evidence.only_request()
    assert (entry["scenario"], entry["outcome"], entry["tokens_sent"]) == ("cut-off", "fault", 2)


@pytest.mark.parametrize(
    ("prompt", "headers"),
    [
        ("[mock: scenario=by-name] anything", {}),
        ("anything", {"X-Mock-Scenario": "by-name"}),
        ("[mock: scenario=by-name] hello", {"X-Mock-Scenario": "greeting"}),
    ],
    ids=["by-directive", "by-header", "directive-name-beats-header-name-and-matching"],
)
async def test_a_scenario_chosen_by_name(
    served: ScenarioMock, prompt: str, headers: dict[str, str]
) -> None:
    record = await timed_stream(served.chat, openai_body(prompt), dialect="chat", headers=headers)
    assert record.ok and record.text == BY_NAME
    assert (await served.evidence.only_request())["scenario"] == "by-name"


async def test_headers_override_a_scenarios_schedule_but_keep_its_text(
    served: ScenarioMock,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            served.chat,
            json=openai_body("hello", stream=False, stream_options=None),
            headers={"X-Mock-TTFT-Ms": "0", "X-Mock-ITL-Ms": "0"},
        )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == GREETING
    entry = await served.evidence.only_request()
    assert (entry["ttft_ms"], entry["itl_ms"], entry["scenario"]) == (0, 0, "greeting")


async def test_an_unknown_scenario_name_is_a_400(served: ScenarioMock) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(served.chat, json=openai_body("[mock: scenario=nope] hi"))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "unknown mock scenario 'nope'"


async def test_without_a_match_the_defaults_apply(served: ScenarioMock) -> None:
    record = await timed_stream(served.chat, openai_body("tell me a story"), dialect="chat")
    assert record.ok and record.tokens == 20
    entry = await served.evidence.only_request()
    assert (entry["scenario"], entry["mode"], entry["ttft_ms"]) == (None, "prose", 50)
