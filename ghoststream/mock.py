"""The mock LLM server, under the library's own name: build it, serve it, steer it per test.

Installed, the mock ships as `ghoststream.mock_llm` (the checkout's `mock_llm/` folder), so it
never shadows a module of the user's; this module is the one place that knows that mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the checkout's layout, which mypy reads; the same files as below
    from mock_llm import controls, scenarios
    from mock_llm.app import MockApp, create_app
    from mock_llm.config import MockConfig
    from mock_llm.directive import directive
    from mock_llm.embedded import quiet_dropped_connections
    from mock_llm.scenarios import Scenario
else:
    from ghoststream.mock_llm import controls, scenarios
    from ghoststream.mock_llm.app import MockApp, create_app
    from ghoststream.mock_llm.config import MockConfig
    from ghoststream.mock_llm.directive import directive
    from ghoststream.mock_llm.embedded import quiet_dropped_connections
    from ghoststream.mock_llm.scenarios import Scenario

__all__ = [
    "MOCK_MODULE",
    "MockApp",
    "MockConfig",
    "Scenario",
    "ScenarioLike",
    "catch_all",
    "create_app",
    "directive",
    "parse_scenarios",
    "quiet_dropped_connections",
    "use_scenarios",
]

MOCK_MODULE = "ghoststream.mock_llm"
"""For `python -m` (`ghoststream.harness.servers.serve_in_process(MOCK_MODULE)`)."""

ScenarioLike = Scenario | Mapping[str, Any]


def parse_scenarios(items: Iterable[ScenarioLike]) -> list[Scenario]:
    """Scenarios from Python objects: `Scenario`s, or mappings shaped like a scenario file's."""
    out: list[Scenario] = []
    for item in items:
        out.extend([item] if isinstance(item, Scenario) else scenarios.parse([dict(item)]))
    return out


def catch_all(settings: Mapping[str, object], name: str = "test") -> Scenario:
    """A scenario every request matches: one test's schedule and fault (`ttft_ms`, `fault`,
    any control, and `text` for a fixed answer)."""
    settings = dict(settings)
    text = settings.pop("text", None)
    typed = controls.typed({key: str(value) for key, value in settings.items()})
    if text is not None:
        typed.setdefault("mode", "fixed")
    return Scenario(name, typed, None if text is None else str(text), pattern=re.compile(""))


def use_scenarios(app: MockApp, known: Iterable[Scenario]) -> None:
    """Replace the scenarios a running mock matches, first match wins; safe from another
    thread, since each route swaps one reference."""
    chosen = list(known)
    for generation in app.routes.values():
        generation.scenarios = chosen
