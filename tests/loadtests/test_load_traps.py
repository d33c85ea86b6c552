"""Each measuring trap, shown avoided: one run of `loadtests/traps.py` reads the same kind of
stream our way and Locust's way (`FastHttpSession.iter_lines` over `stream=True`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.loadtests.conftest import Finished, Run


@pytest.fixture(scope="module")
def traps(load_module: Run) -> Finished:
    run = load_module("-f", "loadtests/traps.py", "-u", "6", "-r", "6", "-t", "8s", name="traps")
    assert run.code == 0, run.output[-3000:]
    return run


def test_our_reader_sees_the_first_token_on_time_iter_lines_does_not(traps: Finished) -> None:
    """iter_lines reads 1 KiB blocks: ~22 token events (~440 ms at 20 ms a token) pile up
    before the first one is seen. Ours reads what has arrived."""
    ours = traps.files.summary()["scenarios"]["our_reader"]["ttft_ms"]
    assert 195 <= ours["p50"] <= 300
    assert 15 <= traps.files.summary()["scenarios"]["our_reader"]["itl_ms"]["p50"] <= 25
    bunched = traps.files.stats()[("iter_lines", "TTFT")]
    assert float(bunched["50%"]) >= 200 + 300


def test_locusts_own_entry_for_a_streamed_request_is_only_the_headers(traps: Finished) -> None:
    """The service sends its headers with the first event: Locust's entry says ~TTFT for an
    answer that takes 1.2 s; ours says 1.2 s."""
    stats = traps.files.stats()
    headers_only = float(stats[("GET", "iter_lines")]["50%"])
    whole = traps.files.summary()["scenarios"]["our_reader"]["stream_ms"]["p50"]
    assert headers_only <= 300
    assert whole >= 200 + 49 * 20 - 10


def test_raw_percentiles_are_exact_where_locusts_are_bucket_edges(traps: Finished) -> None:
    """TTFT asked for: 1,040 ms. Locust's histogram keeps two significant digits."""
    locust = traps.files.stats()[("rounding", "TTFT")]
    raw = traps.files.summary()["scenarios"]["rounding"]["ttft_ms"]
    assert 1040 <= raw["p50"] < 1100
    assert float(locust["50%"]) in {1000.0, 1100.0}  # it cannot say 1,04x
    assert float(locust["99%"]) in {1000.0, 1100.0, 1200.0}
