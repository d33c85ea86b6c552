"""A finished run's files, read back: Locust's stats CSV, the raw JSONL, the summary JSON.

`python -m loadtests --name NAME --out DIR` writes `DIR/NAME_stats.csv` (Locust's, rounded),
`DIR/NAME.jsonl` (one line per stream, exact), `DIR/NAME_summary.json` (computed from the lines),
`DIR/NAME_open_streams.csv`, `DIR/NAME.html` and Locust's other CSVs.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunFiles:
    prefix: Path

    def path(self, suffix: str) -> Path:
        return self.prefix.with_name(self.prefix.name + suffix)

    def stats(self) -> dict[tuple[str, str], dict[str, str]]:
        """Locust's stats rows keyed by (type, name); the total is ("", "Aggregated")."""
        with self.path("_stats.csv").open(newline="", encoding="utf-8") as file:
            return {(row["Type"], row["Name"]): row for row in csv.DictReader(file)}

    def lines(self) -> list[dict[str, Any]]:
        with self.path(".jsonl").open(encoding="utf-8") as file:
            return [json.loads(text) for text in file if text.strip()]

    def summary(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.path("_summary.json").read_text())
        return document
