"""Unauthenticated push endpoints (/ingest/*): size before reading, sender proof before
storing, rate per source address."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.push_routes import RateLimiter
from api.settings import ApiSettings
from devtools.localservers import LocalMosquitto
from tests.support.api import ApiWorld, make_api_settings

CTWING_TOKEN = "ctwing-push-token-" + "z" * 32
PUSH = b'{"deviceId": "ctw0001", "payload": {}}'


@pytest.fixture
def api_settings(
    request: pytest.FixtureRequest, database_url: str, mqtt_broker: LocalMosquitto
) -> ApiSettings:
    """Test settings; a test overrides some with ``indirect`` parametrization."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return make_api_settings(database_url, mqtt_broker.url, **overrides)


def stored(api: ApiWorld) -> int:
    row = api.db.execute("SELECT count(*) AS n FROM push_inbox").fetchone()
    assert row is not None
    n: int = row["n"]
    return n


def raw_post(base_url: str, path: str, headers: str, body: bytes = b"") -> bytes:
    """Send a request by hand (no client library fixes its framing); the status line."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\n{headers}\r\n"
        sock.sendall(head.encode() + body)
        answer = sock.recv(4096)  # bounded by the socket timeout
    return answer.split(b"\r\n", 1)[0]


def test_create_push_declared_too_large_is_413_before_the_body(
    api_server: str, api: ApiWorld
) -> None:
    # The body is never sent: the answer must come from the Content-Length alone.
    declared = api.settings.ingest_max_payload_bytes + 1
    status = raw_post(api_server, "/ingest/ctwing", f"Content-Length: {declared}\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert stored(api) == 0


def test_create_push_chunked_over_limit_is_413(api_server: str, api: ApiWorld) -> None:
    limit = api.settings.ingest_max_payload_bytes
    chunk = b"x" * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(limit // 1024 + 1))
    status = raw_post(api_server, "/ingest/ctwing", "Transfer-Encoding: chunked\r\n", body)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert stored(api) == 0


def test_create_push_onenet_unsigned_is_refused_before_storing(
    api_client: TestClient, api: ApiWorld
) -> None:
    garbage = api_client.post("/ingest/onenet", content=b"x" * 1000)
    assert garbage.status_code == 400
    unsigned = api_client.post(
        "/ingest/onenet", content=b'{"msg": "{}", "nonce": "abc", "signature": "forged"}'
    )
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["message"] == "bad_signature"
    assert stored(api) == 0


@pytest.mark.parametrize("api_settings", [{"ctwing_push_token": CTWING_TOKEN}], indirect=True)
def test_create_push_ctwing_needs_the_shared_token(api_client: TestClient, api: ApiWorld) -> None:
    for params in ({}, {"token": "wrong"}):
        refused = api_client.post("/ingest/ctwing", params=params, content=PUSH)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    assert stored(api) == 0
    accepted = api_client.post("/ingest/ctwing", params={"token": CTWING_TOKEN}, content=PUSH)
    assert accepted.status_code == 200
    row = api.db.execute("SELECT query FROM push_inbox").fetchone()
    assert row == {"query": {}}  # the secret is not kept with the push


@pytest.mark.parametrize("api_settings", [{"environment": "production"}], indirect=True)
def test_create_push_ctwing_without_token_in_production_is_refused(
    api_client: TestClient, api: ApiWorld
) -> None:
    refused = api_client.post("/ingest/ctwing", content=PUSH)
    assert refused.status_code == 401
    assert stored(api) == 0


@pytest.mark.parametrize(
    "api_settings", [{"ingest_push_rate_per_s": 0.001, "ingest_push_burst": 2}], indirect=True
)
def test_create_push_rate_limited_per_address(api_client: TestClient, api: ApiWorld) -> None:
    for _ in range(2):
        assert api_client.post("/ingest/ctwing", content=PUSH).status_code == 200
    limited = api_client.post("/ingest/ctwing", content=PUSH)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["retry-after"]) >= 1
    assert api_client.get("/ingest/onenet", params={"msg": "x"}).status_code == 429
    assert stored(api) == 2


def test_rate_limiter_forgets_the_oldest_address_beyond_its_bound() -> None:
    limiter = RateLimiter(rate_per_s=0.001, burst=1, max_clients=3)
    for i in range(10):
        assert limiter.take(f"10.0.0.{i}") == 0
    assert len(limiter) == 3
    assert limiter.take("10.0.0.9") > 0  # recent addresses are still remembered
