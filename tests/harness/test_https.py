"""The timing client reads `https://` targets: TLS verified against the system's trust store
(here a throwaway certificate authority named by SSL_CERT_FILE), tokens stamped as over HTTP."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ghoststream.harness.client import openai_body, timed_stream
from ghoststream.harness.servers import serve_in_thread
from ghoststream.mock import create_app
from mock_llm.directive import directive


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_an_https_stream_is_read_and_timed(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted for this test only
    with serve_in_thread(create_app(), ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        secure = url.replace("http://", "https://")
        prompt = directive(ttft_ms=50, itl_ms=10, tokens=5) + " Hi."
        record = await timed_stream(
            f"{secure}/v1/chat/completions", openai_body(prompt), dialect="chat"
        )
        monkeypatch.delenv("SSL_CERT_FILE")
        untrusted = await timed_stream(
            f"{secure}/v1/chat/completions", openai_body(prompt), dialect="chat"
        )
    assert not untrusted.ok and untrusted.tokens == 0  # the certificate is checked
    assert record.ok, record
    assert record.tokens == 5
    assert record.ttft is not None and record.ttft >= 0.045
