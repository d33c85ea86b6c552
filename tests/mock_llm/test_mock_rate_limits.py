"""Rate limits as a provider enforces them: a per-minute budget of requests and tokens that
refuses with 429 when spent, refills continuously, and is reported in the dialect's headers."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from ghoststream.harness.servers import serve_in_process
from mock_llm.rate_limits import RateLimits, duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_request_budget_is_spent_then_refills_at_the_per_minute_rate() -> None:
    clock = Clock()
    limits = RateLimits(rpm=3, clock=clock)
    assert [limits.admit(1, False)[0] for _ in range(3)] == [None, None, None]
    wait, headers = limits.admit(1, False)
    assert wait == pytest.approx(20.0)  # one request back every 60/3 s
    assert dict(headers)[b"x-ratelimit-remaining-requests"] == b"0"
    assert dict(headers)[b"x-ratelimit-reset-requests"] == b"1m0s"
    clock.now += 20.0
    assert limits.admit(1, False)[0] is None


def test_tokens_are_charged_and_a_refusal_spends_nothing() -> None:
    clock = Clock()
    limits = RateLimits(rpm=100, tpm=1000, clock=clock)
    assert limits.admit(900, False)[0] is None
    wait, headers = limits.admit(200, False)
    assert wait == pytest.approx(100 / (1000 / 60))
    assert dict(headers)[b"x-ratelimit-remaining-tokens"] == b"100"
    assert dict(headers)[b"x-ratelimit-remaining-requests"] == b"99"  # the refusal cost nothing
    assert limits.admit(2000, False)[0] == float("inf")  # more than a minute's budget: never


def test_anthropic_headers_name_the_reset_as_a_time() -> None:
    _, headers = RateLimits(rpm=5, tpm=100).admit(10, True)
    named = dict(headers)
    assert named[b"anthropic-ratelimit-requests-limit"] == b"5"
    assert named[b"anthropic-ratelimit-tokens-remaining"] == b"90"
    assert named[b"anthropic-ratelimit-requests-reset"].endswith(b"Z")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.12, "120ms"), (1, "1s"), (6.2, "7s"), (360, "6m0s"), (3723, "1h2m3s")]
)
def test_resets_read_as_openai_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.fixture(scope="module")
def limited_mock() -> Iterator[str]:
    args = ["--log-level", "warning", "--ttft-ms", "0", "--itl-ms", "0", "--tokens", "5"]
    with serve_in_process("mock_llm", [*args, "--rpm", "2", "--tpm", "100000"]) as server:
        yield server.url


def test_the_sdks_see_the_budget_and_its_429(limited_mock: str) -> None:
    """Both SDKs read the limit headers on success, and raise their own rate-limit error."""
    client = openai.OpenAI(base_url=f"{limited_mock}/v1", api_key="sk-x", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    claude = anthropic.Anthropic(base_url=limited_mock, api_key="sk-x", max_retries=0)
    answer = claude.messages.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
    )
    assert answer.headers["anthropic-ratelimit-requests-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert 25 <= int(refused.value.response.headers["retry-after"]) <= 31
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
        )
    stats = httpx.get(f"{limited_mock}/mock/stats").json()
    assert stats["rejected"] == 2 and stats["completed"] == 2
