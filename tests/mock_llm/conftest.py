"""Shared by the mock's tests: tolerance for a noisy machine, without tolerance for a slow mock.

Timing is asserted two ways. A bound that noise cannot break (a token is never *early*: the mock
sends nothing before its deadline) is asserted on every stream. A bound that noise can break (a
token is not *late*) is measured up to three times and passes on the first clean measurement: a
descheduled process delays one attempt now and then, while a regression (a 1 s TTFT, drift, a
missed cancellation) fails every attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

Attempt = Callable[[], Awaitable[list[str]]]
"""One measurement: asserts the hard facts itself, returns what was late (empty when on time)."""
BestOf = Callable[[Attempt], Awaitable[None]]

TRIES = 3


async def _best_of(attempt: Attempt) -> None:
    late: list[list[str]] = []
    for _ in range(TRIES):
        problems = await attempt()
        if not problems:
            return
        late.append(problems)
    pytest.fail(f"late in all {TRIES} measurements: {late}")


@pytest.fixture
def best_of() -> BestOf:
    """`await best_of(attempt)`: passes at the first attempt that reports nothing late."""
    return _best_of
