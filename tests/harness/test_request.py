"""The one hand-written request every client here sends: target, Host, headers, body."""

from __future__ import annotations

from ghoststream.harness.request import wire_request
from ghoststream.load.stream_client import StreamRequest


def test_the_urls_own_query_is_kept_and_params_are_added() -> None:
    request = wire_request("GET", "http://h:8000/ask?prompt=hi&x=1", params={"n": "2"})
    assert request.data.startswith(b"GET /ask?prompt=hi&x=1&n=2 HTTP/1.1\r\n")
    assert (request.host, request.port, request.secure) == ("h", 8000, False)


def test_the_locust_reader_sends_the_same_request() -> None:
    host, port, data = StreamRequest("http://h:8000/ask?prompt=hi", params={"n": "2"}).wire()
    assert data == wire_request("GET", "http://h:8000/ask?prompt=hi", params={"n": "2"}).data


def test_credentials_in_the_url_never_reach_the_host_header() -> None:
    request = wire_request("POST", "https://alice:secret@api.example/v1/x", b"{}", {"k": "v"})
    head, _, body = request.data.partition(b"\r\n\r\n")
    assert b"secret" not in head and b"alice" not in head
    assert b"Host: api.example:443" in head and request.secure
    assert b"Content-Type: application/json" in head and b"Content-Length: 2" in head
    assert b"k: v" in head and body == b"{}"
