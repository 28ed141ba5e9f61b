"""Request bodies over their limit are refused before anything reads them (issue 15, item 5).

Over real HTTP (uvicorn on loopback): a raw socket announces a huge body and sends none of it;
the answer arrives anyway, which proves the server did not wait to read (or parse) the body.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from api.settings import ApiSettings
from devtools.localservers import LocalMosquitto
from tests.support.api import ApiWorld, make_api_settings

TOKEN = "/api/v1/auth/token"
ROSTER = "/api/v1/roster/import"
MIB = 1024 * 1024


@pytest.fixture
def api_settings(
    request: pytest.FixtureRequest, database_url: str, mqtt_broker: LocalMosquitto
) -> ApiSettings:
    """Test settings; a test overrides some with ``indirect`` parametrization."""
    return make_api_settings(database_url, mqtt_broker.url, **getattr(request, "param", {}))


def announce(base_url: str, path: str, length: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST with ``Content-Length: length`` and no body; the status and body of the answer."""
    parts = urlsplit(base_url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}",
             "Content-Type: application/json"]  # fmt: skip
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.sendall(b"{")  # a first byte of the body, never the rest
        answer = b""
        while not _complete(answer):
            chunk = sock.recv(65536)
            assert chunk, "the server closed without answering"
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def _complete(answer: bytes) -> bool:
    head, found, rest = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(rest) >= int(line.split(b":")[1])
    return True


def test_create_token_huge_body_refused_from_content_length(api_server: str) -> None:
    status, body = announce(api_server, TOKEN, 43 * 1000 * 1000, {})
    assert status == 413
    assert body.startswith(b'{"error":{"code":"payload_too_large"')


def chunks(total: int) -> Iterator[bytes]:
    yield b'{"username": "a", "password": "'
    for _ in range(total // 65536):
        yield b"x" * 65536
    yield b'"}'


def test_create_token_chunked_body_refused_while_streaming(api_server: str) -> None:
    # No Content-Length (chunked): counted as it arrives, refused past the limit.
    response = httpx.post(api_server + TOKEN, content=chunks(3 * MIB), timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    small = httpx.post(api_server + TOKEN, content=chunks(64 * 1024), timeout=30)
    assert small.status_code == 422  # under the limit: read and parsed (a too long password)


def test_create_import_roster_anonymous_gets_the_small_limit(api_server: str) -> None:
    status, _ = announce(api_server, ROSTER, 2 * MIB, {})
    assert status == 413


def test_create_import_roster_credentials_checked_before_the_body(api_server: str) -> None:
    # Credentials that are present but wrong: 401 without the 5 MiB being sent or read.
    status, body = announce(api_server, ROSTER, 5 * MIB, {"Authorization": "Bearer forged"})
    assert status == 401
    assert orjson.loads(body)["error"]["code"] == "unauthorized"


def test_create_import_roster_manager_gets_the_upload_limit(
    api_server: str, api: ApiWorld
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    junk = b"name,phone\n" + b"x" * (3 * MIB)
    within = httpx.post(api_server + ROSTER, headers=headers, timeout=60,
                        files={"file": ("r.csv", junk, "text/csv")})  # fmt: skip
    assert within.status_code == 400, within.text  # read and parsed: not a roster
    status, _ = announce(api_server, ROSTER, 11 * MIB, headers)
    assert status == 413


@pytest.mark.parametrize("api_settings", [{"api_max_body_bytes": 2048}], indirect=True)
def test_create_token_limit_is_configurable(api_server: str) -> None:
    status, _ = announce(api_server, TOKEN, 4096, {})
    assert status == 413
