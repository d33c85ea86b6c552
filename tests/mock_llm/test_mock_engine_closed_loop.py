"""The engine model's steady state for closed-loop users, which the load sweep compares with."""

from __future__ import annotations

import pytest

from mock_llm.engine import closed_loop_ttft_ms, first_token_ms, load_factor


def test_up_to_the_slots_every_user_runs_at_once() -> None:
    for users in (1, 8, 16):
        expected = first_token_ms(0.0, 40.0, load_factor(users, 16, 2.0))
        assert closed_loop_ttft_ms(users, 16, 2.0, 0.0, 12.0, 40, 40.0) == expected


def test_beyond_the_slots_the_queue_follows_littles_law() -> None:
    """Twice as many users as slots: each waits one whole stream's time in a slot."""
    first = first_token_ms(0.0, 40.0, 2.0)
    in_slot = first + 39 * 12.0 * 2.0
    assert closed_loop_ttft_ms(32, 16, 2.0, 0.0, 12.0, 40, 40.0) == pytest.approx(in_slot + first)
    assert closed_loop_ttft_ms(48, 16, 2.0, 0.0, 12.0, 40, 40.0) == pytest.approx(
        2 * in_slot + first
    )


def test_without_slots_there_is_no_queue_and_no_slowdown() -> None:
    assert closed_loop_ttft_ms(500, 0, 3.0, 100.0, 10.0, 40, 0.0) == 100.0
