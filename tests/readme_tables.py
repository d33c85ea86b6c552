"""The README's tables as data, so tests can hold the documentation to the code's declarations."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def table_under(heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule dropped) of the first table after `heading`."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    rows: list[list[str]] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def code_names(cell: str) -> list[str]:
    """The `backquoted` names in a cell."""
    return re.findall(r"`([^`]+)`", cell)
