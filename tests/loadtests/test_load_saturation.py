"""A saturated load generator: its figures are flagged invalid, with the remedy, in the summary,
the files and the exit status."""

from __future__ import annotations

import asyncio
import csv
from typing import TYPE_CHECKING, Any

import pytest

from ghoststream.harness.servers import serve_in_thread
from ghoststream.load.saturation import INVALID_EXIT_CODE, REMEDY, Limits, judge
from ghoststream.protocols.browser import terminal, token

if TYPE_CHECKING:
    from tests.loadtests.conftest import Run


def stream_line(gaps_ms: list[float], stopped: bool = False) -> dict[str, Any]:
    return {"gaps_ms": gaps_ms, "stopped": stopped}


@pytest.mark.parametrize(
    ("cpu", "gaps", "flagged"),
    [
        ({"1": [20.0] * 10}, [20.0] * 100, []),
        ({"1": [20.0] * 9 + [99.0]}, [20.0] * 100, []),  # a spike is not saturation
        ({"1": [95.0] * 10, "2": [10.0]}, [20.0] * 100, ["process 1 at 95% CPU"]),
        ({"1": [20.0]}, [0.0] * 30 + [20.0] * 70, ["30% of inter-token gaps were 0 ms"]),
        ({"1": [20.0]}, [0.0] * 30, []),  # too few gaps to say
        ({}, [], []),
    ],
    ids=["idle", "one-spike", "busy-process", "coalesced", "few-gaps", "nothing-measured"],
)
def test_the_verdict_names_each_sign_of_saturation(
    cpu: dict[str, list[float]], gaps: list[float], flagged: list[str]
) -> None:
    lines = [stream_line(gaps), stream_line([0.0] * 500, stopped=True)]
    verdict = judge(cpu, lines, Limits())
    assert verdict.valid == (not flagged)
    assert len(verdict.reasons) == len(flagged)
    assert all(want in got for want, got in zip(flagged, verdict.reasons, strict=True))
    assert (REMEDY in verdict.message()) and verdict.as_dict()["valid"] == (not flagged)


class Bunched:
    """A ghoststream-format target that writes its token events five at a time, as a reader
    too slow for its streams would find them waiting."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for batch in range(4):
            events = b"".join(token("x", batch * 5 + i) for i in range(5))
            await send({"type": "http.response.body", "body": events, "more_body": True})
            await asyncio.sleep(0.02)
        await send({"type": "http.response.body", "body": terminal("done", {}, 20)})


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ((), "of inter-token gaps were 0 ms"),
        (("--max-coalesced", "1", "--max-generator-cpu", "0.01"), "% CPU (p90"),
    ],
    ids=["coalesced-events", "busy-cpu"],
)
def test_a_saturated_run_is_marked_invalid_with_its_remedy(
    load: Run, limits: tuple[str, ...], reason: str
) -> None:
    with serve_in_thread(Bunched()) as url:
        run = load(
            "--target", url, "-u", "2", "-r", "2", "-t", "3s", "--user-class", "HoldOpenUser",
            *limits, name="saturated",
        )  # fmt: skip
    assert run.code == INVALID_EXIT_CODE, run.output[-3000:]
    assert "FIGURES INVALID" in run.output and "--processes N" in run.output
    summary = run.files.summary()
    assert summary["valid"] is False and summary["generator"]["remedy"] == REMEDY
    assert any(reason in text for text in summary["generator"]["reasons"])
    with run.files.path("_generator.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows and all(row["valid"] == "False" for row in rows)
    assert summary["scenarios"]["hold_open"]["failed"] == 0  # the streams themselves were fine
