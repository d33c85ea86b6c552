"""Per-process load-test state: raw stream lines, the open-streams count, the JSONL file.

On a local or master runner, lines land here (from this process's users, or from workers'
reports) and are appended to the JSONL file as they come. On a worker they wait in `outbox`
until the next report to the master carries them. No Locust in here; `hooks.py` wires it up.
"""

from __future__ import annotations

import json
import time
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

Line = dict[str, Any]


class Collector:
    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.outbox: list[Line] = []
        self.open_here = 0
        self.open_remote: dict[str, int] = {}
        self.series: list[tuple[float, int, int, int | None, int | None]] = []
        """(wall time, users, open streams as the clients count them, as the service's metrics
        count them, as the mock counts its upstream streams); None where unknown."""
        self.records_path: Path | None = None
        self.notes: list[str] = []
        """Lines for the summary from checks and the step shape."""
        self.results: dict[str, Any] = {}
        """Machine-readable check and capacity results for the summary JSON."""
        self.check_failed = False
        self.cpu: dict[str, list[float]] = {}
        """Each generator process (pid) -> its CPU samples, percent of one core."""
        self.cpu_outbox: list[float] = []
        """A worker's samples not yet shipped to the master."""
        self.invalid = False
        """The generator was saturated: the figures are not the target's (`saturation.py`)."""
        self._file: IO[str] | None = None

    def begin(self, records_path: str | None) -> None:
        """Start a test: forget the previous one and open (truncate) the JSONL file."""
        self.end()
        self.lines = []
        self.outbox = []
        self.series = []
        self.notes = []
        self.results = {}
        self.check_failed = False
        self.cpu = {}
        self.invalid = False
        self.records_path = Path(records_path) if records_path else None
        if self.records_path is not None:
            self.records_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.records_path.open("w", encoding="utf-8")

    def add(self, lines: Iterable[Line]) -> None:
        """Keep lines (gaps as 4-byte floats: a long run holds millions) and write them out."""
        for line in lines:
            if self._file is not None:
                self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.lines.append({**line, "gaps_ms": array("f", line["gaps_ms"])})

    def end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def opened(self) -> None:
        self.open_here += 1

    def closed(self) -> None:
        self.open_here -= 1

    def open_streams(self) -> int:
        """Streams open now: this process's plus each worker's last report."""
        return self.open_here + sum(self.open_remote.values())

    def sample(self, users: int, service_open: int | None, mock_open: int | None) -> int:
        open_now = self.open_streams()
        self.series.append((time.time(), users, open_now, service_open, mock_open))
        return open_now

    def peak(self) -> int | None:
        return max((sample[2] for sample in self.series), default=None)

    def note(self, text: str, failed: bool = False) -> None:
        self.notes.append(text)
        self.check_failed |= failed

    def write_series(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            out.write("timestamp,users,open_streams,service_open,mock_open\n")
            for wall, users, open_now, service_open, mock_open in self.series:
                known = ["" if n is None else str(n) for n in (service_open, mock_open)]
                out.write(f"{wall:.3f},{users},{open_now},{','.join(known)}\n")


COLLECTOR = Collector()
"""The one collector of this process, shared by the users, the hooks and the step shape."""
