"""`ghoststream-probe` against the plugin's mock: JSON out, goodput, and the exit status."""

from __future__ import annotations

import json

import pytest

from ghoststream.probe import main
from ghoststream.pytest_plugin import MockLLM


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    try:
        main(list(argv))
        status = 0
    except SystemExit as exit:
        status = int(exit.code or 0)
    return status, json.loads(capsys.readouterr().out)


def test_a_run_within_its_slos_reports_goodput_and_exits_0(
    mock_llm: MockLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = run(
        capsys, "--base-url", mock_llm.base_url, "--streams", "6", "--rate", "50",
        "--slo-ttft-ms", "5000", "--json",
    )  # fmt: skip
    assert status == 0, report
    assert report["streams"] == 6 and report["met_slo"] == 6
    assert isinstance(report["goodput_per_s"], float) and report["goodput_per_s"] > 0
    assert len(mock_llm.requests()) == 6


@pytest.mark.mock_llm(ttft_ms=300)
def test_missed_slos_exit_1(mock_llm: MockLLM, capsys: pytest.CaptureFixture[str]) -> None:
    status, report = run(
        capsys, "--base-url", mock_llm.base_url, "--streams", "2", "--slo-ttft-ms", "100", "--json"
    )
    assert status == 1
    assert report["missed_slo"] == 2 and report["failures"] == []


@pytest.mark.mock_llm(fault="http_500")
def test_failed_streams_exit_1(mock_llm: MockLLM, capsys: pytest.CaptureFixture[str]) -> None:
    status, report = run(capsys, "--base-url", mock_llm.base_url, "--streams", "2", "--json")
    assert status == 1
    assert len(report["failures"]) == 2  # type: ignore[arg-type]


def test_own_route_in_a_named_format(mock_llm: MockLLM, capsys: pytest.CaptureFixture[str]) -> None:
    body = '{"model": "m", "stream": true, "messages": [{"role": "user", "content": "{prompt}"}]}'
    status, report = run(
        capsys, "--url", f"{mock_llm.base_url}/chat/completions", "--format", "chat",
        "--body", body, "--prompt", 'say "hi"', "--streams", "2", "--json",
    )  # fmt: skip
    assert status == 0, report
    assert [r["request_body"]["messages"][0]["content"] for r in mock_llm.requests()] == [
        'say "hi"',
        'say "hi"',
    ]
