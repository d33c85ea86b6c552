"""Every error a client can see, in one table: stable codes, wording, and whether to retry.

Input errors are refused before streaming as `{"error": {"code", "message"}}` with a 4xx status.
Upstream failures reach the client as one `event: error` with `{"code", "message", "retryable"}`.
Messages are ours: upstream error text and keys never pass through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StreamError:
    code: str
    message: str
    retryable: bool


STREAM_ERRORS: dict[str, StreamError] = {
    e.code: e
    for e in (
        StreamError("rate_limited", "The model is rate limited. Try again shortly.", True),
        StreamError("upstream_auth", "The service could not authenticate with the model.", False),
        StreamError("upstream_unavailable", "The model is unavailable right now.", True),
        StreamError("upstream_rejected", "The model refused this request.", False),
        StreamError("upstream_unreachable", "The model could not be reached.", True),
        StreamError("first_token_timeout", "The model took too long to start answering.", True),
        StreamError("idle_timeout", "The model stopped sending in the middle of the answer.", True),
        StreamError(
            "upstream_malformed", "The model sent a response that could not be read.", True
        ),
        StreamError("upstream_disconnected", "The model's connection ended mid-answer.", True),
        StreamError("upstream_error", "The model reported an error mid-answer.", True),
        StreamError("deadline_exceeded", "The answer took longer than the service allows.", False),
        StreamError("shutdown", "The service is restarting. Try again.", True),
        StreamError("internal_error", "Something went wrong in the service.", True),
    )
}


def stream_error_payload(
    code: str, retry_after: float | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """The `data` of an `event: error`."""
    error = STREAM_ERRORS[code]
    payload: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "retryable": error.retryable,
    }
    if retry_after is not None:
        payload["retry_after"] = retry_after
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


class InputError(Exception):
    """A request refused with `status` before any streaming: bad input, or a limit."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"error": error}

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = []
        if self.retry_after is not None:
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()))
        if self.status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        return headers


# Input error codes and their statuses, for the README table and the tests.
INPUT_ERRORS: dict[str, int] = {
    "invalid_json": 400,
    "invalid_request": 400,
    "empty_prompt": 400,
    "prompt_too_long": 400,
    "unknown_persona": 400,
    "invalid_max_tokens": 400,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "not_found": 404,
    "method_not_allowed": 405,
    "unauthorized": 401,
    "too_many_requests": 429,
    "too_many_streams": 429,
    "over_capacity": 503,
    "shutting_down": 503,
}


def input_error(code: str, message: str, retry_after: float | None = None) -> InputError:
    return InputError(INPUT_ERRORS[code], code, message, retry_after)
