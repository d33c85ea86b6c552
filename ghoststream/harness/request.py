"""One streamed HTTP/1.1 request as bytes, for every client here that writes its own: the
asyncio timing client, the Locust users' socket reader and the mock's recorder.

They write requests by hand so that nothing buffers between the socket and the clock; this is
the one place that knows what such a request looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class WireRequest:
    host: str
    port: int
    secure: bool
    """`https://`: the caller wraps the connection in TLS."""
    data: bytes


def wire_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> WireRequest:
    """`method url` with `body` (sent as JSON when given) and `params` added to the URL's own
    query. Asks for an event stream, unencoded, on a connection closed after it."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
    query = "&".join(q for q in (parts.query, urlencode(params) if params else "") if q)
    target = (parts.path or "/") + (f"?{query}" if query else "")
    payload = body or b""
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {host}:{port}",  # never the URL's userinfo
        "Accept: text/event-stream",
        "Accept-Encoding: identity",
        "Connection: close",
        f"Content-Length: {len(payload)}",
    ]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return WireRequest(host, port, secure, ("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
