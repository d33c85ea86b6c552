"""OpenAI's error objects and response headers, shared by its three APIs (chat, responses,
completions): `{"error": {"message", "type", "param", "code"}}`, worded as the real API does."""

from __future__ import annotations

from typing import Any

UNPARSEABLE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
    "contact us through our help center at help.openai.com.)"
)
# status -> (type, code, stock message)
_BY_STATUS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", None, "Not found."),
    413: ("invalid_request_error", None, "Request body too large."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    529: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def error_body(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def for_status(status: int, message: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The body OpenAI answers `status` with; `message` None: its stock wording."""
    type, code, stock = _BY_STATUS.get(status, _BY_STATUS[500 if status >= 500 else 400])
    return error_body(message or stock, type, code, param)


def response_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-request-id", request_id.encode("latin-1", "replace")),
        (b"openai-version", b"2020-10-01"),
        (b"openai-processing-ms", b"1"),
    ]
