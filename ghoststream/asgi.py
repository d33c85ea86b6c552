"""The plain-ASGI chores both servers do: read a bounded request body, answer with JSON.

Typed with Starlette's ASGI aliases; the service and the mock each word their own refusals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

__all__ = [
    "BodyTooLarge",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "send_json",
    "until_disconnect",
]


class BodyTooLarge(Exception):
    """The request body went over the limit; each server words its own 413."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body; None if the client left first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def until_disconnect(receive: Receive) -> None:
    """Return when the client has gone: what a streaming response's watcher task waits on, so
    that the client leaving is seen at once, whatever the response itself is waiting for."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_json(
    send: Send, status: int, body: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()  # escapes lone surrogates
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
