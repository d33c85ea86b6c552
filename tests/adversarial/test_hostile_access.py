"""Secrets, logins, forwarded addresses and shutdown, tried as an attacker would."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx

from ghoststream.harness.servers import serve_in_process
from tests.conftest import FAKE_KEY, MockServer

LOGIN_BURST = 10
"""GHOSTSTREAM_AUTH_FAILURE_BURST's default: wrong keys an address may try at once."""


async def test_credentials_in_the_upstream_url_never_show(mock: MockServer, tmp_path) -> None:
    host = mock.url.removeprefix("http://")
    env = {
        "OPENAI_BASE_URL": f"http://alice:pw-SECRET-1@{host}/v1?api_key=SECRET-2#SECRET-3",
        "OPENAI_API_KEY": FAKE_KEY,
        "LOG_LEVEL": "debug",
    }
    log = tmp_path / "service.log"
    with serve_in_process("service", env=env, output=log) as server:
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{server.url}/healthz")).json()
            metrics = (await client.get(f"{server.url}/metrics")).text
    assert health["upstream"] == f"http://{host}/v1"
    for secret in ("SECRET", "alice", FAKE_KEY):
        assert secret not in json.dumps(health) and secret not in metrics
        assert secret not in log.read_text(errors="replace"), secret


async def test_with_auth_on_healthz_says_only_that_it_is_up(mock: MockServer) -> None:
    env = {"OPENAI_BASE_URL": mock.v1, "OPENAI_API_KEY": FAKE_KEY, "SERVICE_API_KEYS": "k-right"}
    with serve_in_process("service", env=env) as server:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{server.url}/healthz")).json() == {"status": "ok"}


async def test_wrong_keys_are_rate_limited_per_address(mock: MockServer) -> None:
    env = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "SERVICE_API_KEYS": "k-right",
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
    }
    with serve_in_process("service", env=env) as server:
        url = f"{server.url}/ask-ai"
        async with httpx.AsyncClient() as client:
            statuses = [
                (
                    await client.get(
                        url, params={"prompt": "hi"}, headers={"authorization": f"Bearer k-{i}"}
                    )
                ).status_code
                for i in range(LOGIN_BURST)
            ]
            assert statuses == [401] * LOGIN_BURST
            guessed = await client.get(
                url, params={"prompt": "hi"}, headers={"authorization": "Bearer k-right"}
            )
            # Locked out: even the right key is not checked, so guessing tells nothing.
            assert guessed.status_code == 429
            assert guessed.json()["error"]["code"] == "too_many_requests"
            assert int(guessed.headers["retry-after"]) >= 1
            assert (await client.get(f"{server.url}/healthz")).status_code == 200


async def test_forwarded_addresses_are_believed_only_from_trusted_proxies(mock: MockServer) -> None:
    base = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "GHOSTSTREAM_RATE_PER_CLIENT_S": "0.01",
        "GHOSTSTREAM_RATE_BURST": "2",
    }
    for trusted, expected in (("", [400, 400, 429, 429]), ("127.0.0.1", [400, 400, 400, 400])):
        env = {**base, "GHOSTSTREAM_TRUSTED_PROXIES": trusted}
        with serve_in_process("service", env=env) as server:
            async with httpx.AsyncClient() as client:
                statuses = [
                    (
                        await client.get(
                            f"{server.url}/ask-ai",
                            params={"prompt": " "},  # refused after the rate check: no stream
                            headers={"x-forwarded-for": f"203.0.113.{i}"},
                        )
                    ).status_code
                    for i in range(4)
                ]
        assert statuses == expected, (trusted, statuses)


async def test_a_body_still_arriving_at_shutdown_gets_a_clean_503(mock: MockServer) -> None:
    env = {
        "OPENAI_BASE_URL": mock.v1,
        "OPENAI_API_KEY": FAKE_KEY,
        "GHOSTSTREAM_SHUTDOWN_GRACE_S": "1",
    }
    with serve_in_process("service", env=env) as server:
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
        )
        async with asyncio.timeout(5):
            # uvicorn answers 100 Continue when the app first asks for the body: it is reading.
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"{")
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            raw = await reader.read()
        writer.close()
    assert raw.startswith(b"HTTP/1.1 503 "), raw[:300]
    error = json.loads(raw.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "shutting_down"
    assert b"text/plain" not in raw and b"Traceback" not in raw
