"""Named scenarios from a YAML or JSON file, matched on the prompt: users' own test suites.

    scenarios:
      - name: greeting
        match: hello            # case-insensitive substring of the last user message
        text: "Hi! How can I help?"
        ttft_ms: 120
        itl_ms: 15
      - name: flaky
        match: "(?i)^retry me"  # `match_regex` for a regular expression
        fault: http_503

A scenario may set any control the directive can (`ttft_ms`, `itl_ms`, `tokens`, `fault`, ...)
and `text`, which makes the answer that fixed text, or hold a `recording`
(`mock_llm.recording`), which is replayed instead. The first match wins; a recording matches
only on the route of the API it was recorded from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .controls import ControlError, typed
from .recording import Recording, from_document


@dataclass(frozen=True)
class Scenario:
    name: str
    controls: dict[str, object]
    text: str | None = None
    substring: str | None = None
    pattern: re.Pattern[str] | None = field(default=None, compare=False)
    recording: Recording | None = field(default=None, compare=False)

    def matches(self, prompt: str, lowered: str) -> bool:
        """`lowered` is `prompt.lower()`, made once for all the scenarios tried."""
        if self.pattern is not None:
            return self.pattern.search(prompt) is not None
        return self._needle is not None and self._needle in lowered

    @cached_property
    def _needle(self) -> str | None:
        """`substring` lower-cased, once for every request it is tried on."""
        return None if self.substring is None else self.substring.lower()


def parse(document: Any) -> list[Scenario]:
    items = document.get("scenarios", []) if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValueError("a scenario file holds a list, or a mapping with a `scenarios` list")
    scenarios = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "name" not in item:
            raise ValueError(f"scenario #{index} must be a mapping with a `name`")
        item = dict(item)
        name = str(item.pop("name"))
        text = item.pop("text", None)
        substring = item.pop("match", None)
        regex = item.pop("match_regex", None)
        recorded = item.pop("recording", None)
        try:
            replay = None if recorded is None else from_document(recorded)
        except ValueError as error:
            raise ValueError(f"scenario {name!r}: {error}") from None
        try:
            controls = typed({key: str(value) for key, value in item.items()})
        except ControlError as error:
            raise ValueError(f"scenario {name!r}: {error}") from None
        try:
            pattern = None if regex is None else re.compile(str(regex))
        except re.error as error:
            raise ValueError(f"scenario {name!r}: bad match_regex: {error}") from None
        if text is not None:
            controls.setdefault("mode", "fixed")
        scenarios.append(
            Scenario(
                name=name,
                controls=controls,
                text=None if text is None else str(text),
                substring=None if substring is None else str(substring),
                pattern=pattern,
                recording=replay,
            )
        )
    return scenarios


def load(path: str | Path) -> list[Scenario]:
    """Read a scenario file; `.json` is parsed as JSON, anything else as YAML."""
    source = Path(path).read_text(encoding="utf-8")
    document = json.loads(source) if str(path).endswith(".json") else yaml.safe_load(source)
    return parse(document)


def find(
    scenarios: list[Scenario], prompt: str, name: str | None = None, api: str | None = None
) -> Scenario | None:
    """The scenario named `name`, or else the first whose match fits `prompt` (skipping
    recordings of an API other than `api`, so a chat recording never answers `/v1/messages`)."""
    lowered = prompt.lower() if name is None else ""
    for scenario in scenarios:
        if name is not None:
            if scenario.name == name:
                return scenario
        elif scenario.matches(prompt, lowered) and (
            api is None or scenario.recording is None or scenario.recording.api == api
        ):
            return scenario
    return None
