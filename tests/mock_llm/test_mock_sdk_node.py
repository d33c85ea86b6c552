"""openai-node, the official JavaScript SDK, reads the mock's chat, Responses and legacy
Completions streams as the Python SDK does (`sdk_node.cjs` drives it and prints what it saw).

Skipped without `node`, or without the `openai` package where node finds it: `npm install
openai` in any directory, then point `NODE_PATH` at its `node_modules`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ghoststream.harness.servers import RunningProcess

SCRIPT = Path(__file__).with_name("sdk_node.cjs")


def _node() -> str:
    """node, with openai-node where it finds it; CI (GHOSTSTREAM_REQUIRE_NODE=1) must have both."""
    missing = pytest.fail if os.environ.get("GHOSTSTREAM_REQUIRE_NODE") == "1" else pytest.skip
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
        raise AssertionError  # unreachable: both outcomes raise
    found = subprocess.run(
        [node, "-e", "require.resolve('openai')"], capture_output=True, timeout=30, check=False
    )
    if found.returncode != 0:
        missing("openai-node is not installed (npm install openai; NODE_PATH=.../node_modules)")
    return node


def test_openai_node_reads_every_openai_dialect(mock_process: RunningProcess) -> None:
    node = _node()
    result = subprocess.run(
        [node, str(SCRIPT), f"{mock_process.url}/v1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["chat"] and seen["chat"] == seen["responses"] == seen["completions"], (
        "the same conversation is the same answer in every dialect"
    )
    assert seen["responsesUsage"] == seen["completionsUsage"] == 12
    types = seen["responseTypes"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types.count("response.output_text.delta") == 12 and types[-1] == "response.completed"
    assert seen["midstream"] == "APIError: The server had an error while processing your request."
    assert seen["rateLimit"] == "RateLimitError 429"
