"""A target that refuses: users wait the Retry-After it asks for, and count each refusal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ghoststream.harness.servers import serve_in_thread

if TYPE_CHECKING:
    from tests.loadtests.conftest import Run

USERS = 2
SECONDS = 4


class AlwaysLimited:
    """An ASGI app answering every request with 429 and `retry-after: 1`; counts them."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        body = b'{"error": {"code": "rate_limit_exceeded"}}'
        headers = [(b"retry-after", b"1"), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_users_wait_the_retry_after_and_count_each_refusal_as_failed(load: Run) -> None:
    """Regression: a refused user asked again at once, ~1,000 refusals a second per user."""
    target = AlwaysLimited()
    with serve_in_thread(target) as url:
        run = load(
            "--target", url, "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s",
            "--start-spread-s", "0", name="limited",
        )  # fmt: skip
    assert run.code == 1, run.output[-3000:]  # refusals are failures
    assert USERS <= target.requests <= USERS * (SECONDS + 2), target.requests
    summary = run.files.summary()["scenarios"]["steady_chat"]
    assert summary["passed"] == 0
    assert summary["failures"] == {"HTTP 429 rate_limit_exceeded": summary["failed"]}
