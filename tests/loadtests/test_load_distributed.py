"""Distributed mode, with the README's commands: a master and two workers on loopback.

No user class is named, so this also shows the locustfile's default: steady chat only.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ghoststream.harness.servers import LOOPBACK, RunningProcess
from loadtests.reports import RunFiles
from loadtests.run import free_port

if TYPE_CHECKING:
    from tests.loadtests.conftest import Bounded

LOCUSTFILE = str(Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py")


def test_a_master_and_two_workers_both_report(
    service: RunningProcess, tmp_path: Path, bounded: Bounded
) -> None:
    port = str(free_port())
    prefix = tmp_path / "dist"
    master = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "--host", service.url]
    master += ["--master", "--master-bind-host", LOOPBACK, "--master-bind-port", port]
    master += ["--expect-workers", "2", "--expect-workers-max-wait", "30"]
    master += ["-u", "8", "-r", "8", "-t", "4s", "--csv", str(prefix)]
    master += ["--records", f"{prefix}.jsonl", "--live-every", "1"]
    worker = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--worker"]
    worker += ["--master-host", LOOPBACK, "--master-port", port]
    workers = [
        subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        code, output = bounded(master, 60)
    finally:
        for process in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
    assert code == 0, output[-3000:]
    assert "to 2 ready workers" in output
    files = RunFiles(prefix)
    lines = files.lines()
    by_worker = Counter(line["source"] for line in lines)
    assert len(by_worker) == 2 and min(by_worker.values()) > 0, by_worker
    assert {line["scenario"] for line in lines} == {"steady_chat"}
    assert all(line["passed"] for line in lines if not line["stopped"])
    stats = files.stats()
    streams = int(stats[("steady_chat", "stream")]["Request Count"])
    assert streams == sum(1 for line in lines if not line["stopped"])
    assert int(stats[("", "Aggregated")]["Failure Count"]) == 0
    assert "open streams: 8 held by 8 users" in output  # summed over the workers' reports
    assert "open streams: peak 8 (from the records;" in output  # the workers' lines, cut ones too
    assert files.summary()["open_streams_peak"] == 8
