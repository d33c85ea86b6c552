"""Every command-line tool's `--help` shows each option's default, and `python -m loadtests`
lists the options it passes on to Locust (its own parser cannot know them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from ghoststream.load.options import OPTIONS
from ghoststream.probe import parse_args as probe_args
from loadtests.run import parse_args as loadtests_args
from mock_llm.__main__ import parse_args as mock_args
from service.__main__ import parse_args as service_args


def help_text(parse: Callable[[list[str]], Any], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        parse(["--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "parse",
    [mock_args, service_args, loadtests_args, probe_args],
    ids=["python -m mock_llm", "python -m service", "python -m loadtests", "ghoststream-probe"],
)
def test_every_option_shows_its_default(
    parse: Callable[[list[str]], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    options = help_text(parse, capsys).split("\noptions:\n")[1].split("\n\n")[0]
    entries = re.split(r"\n(?=  -)", options.strip("\n"))
    missing = [e.split()[0] for e in entries if "default:" not in e and "--help" not in e]
    assert not missing


def test_loadtests_help_lists_the_locust_side_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(loadtests_args, capsys)
    for flag, spec in OPTIONS:
        assert re.search(
            rf"^  {flag} .*\(default: {re.escape(repr(spec['default']))}\)$", text, re.M
        )
