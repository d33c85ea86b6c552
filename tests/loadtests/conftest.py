"""Fixtures for the load tests: Locust always runs in a child process (gevent monkey-patches
whatever imports it, pytest's asyncio included), bounded by a timeout; servers are real."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ghoststream.harness.servers import RunningProcess, serve_in_process
from loadtests.reports import RunFiles
from loadtests.run import SERVICE_ENV

FAKE_KEY = "sk-load-test-not-a-key"


@dataclass(frozen=True)
class Finished:
    """A finished child: its exit code, its output (stdout and stderr together), its files."""

    code: int
    output: str
    files: RunFiles


Run = Callable[..., Finished]
Bounded = Callable[[list[str], float], tuple[int, str]]


def run_bounded(command: list[str], timeout: float) -> tuple[int, str]:
    """Run `command` to its end; past `timeout`, SIGTERM it (so it stops its own children) and
    fail the test."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        pytest.fail(f"{command[:4]} still running after {timeout} s:\n{output[-3000:]}")
    return process.returncode, output


@pytest.fixture
def bounded() -> Bounded:
    """`run_bounded`, for tests that start Locust themselves."""
    return run_bounded


def runner(out: Path) -> Run:
    """`run(*args, name=..., timeout=...)`: `python -m loadtests --out out --name name ...`."""

    def run(*args: str, name: str = "run", timeout: float = 60.0) -> Finished:
        command = [sys.executable, "-m", "loadtests", "--out", str(out), "--name", name]
        code, output = run_bounded([*command, *args], timeout)
        return Finished(code, output, RunFiles(out / name))

    return run


@pytest.fixture
def load(tmp_path: Path) -> Run:
    return runner(tmp_path)


@pytest.fixture(scope="module")
def load_module(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """For a module whose tests all read one run."""
    return runner(tmp_path_factory.mktemp("load"))


@pytest.fixture(scope="module")
def service(mock_process: RunningProcess) -> Iterator[RunningProcess]:
    """The service on the session's mock, its per-client limits lifted as for load runs."""
    env = {
        "OPENAI_BASE_URL": f"{mock_process.url}/v1",
        "OPENAI_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "warning",
        **SERVICE_ENV,
    }
    with serve_in_process("service", env=env) as server:
        yield server
