"""One error body shape for every failure: ours, FastAPI's, the database's."""

from __future__ import annotations

import subprocess
import sys

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from devtools.localservers import LocalMosquitto
from tests.support import wait_until
from tests.support.api import ApiWorld, free_port, make_api_settings


def assert_error(body: dict, code: str) -> None:  # type: ignore[type-arg]
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_read_unknown_path_is_404_shape(api_client: TestClient) -> None:
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert_error(response.json(), "not_found")
    assert "fields" not in response.json()["error"]


def test_wrong_method_is_405_shape(api_client: TestClient) -> None:
    response = api_client.delete("/api/v1/auth/token")
    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")


def test_create_token_invalid_body_is_422_with_fields(api_client: TestClient) -> None:
    response = api_client.post("/api/v1/auth/token", json={"username": ""})
    assert response.status_code == 422
    body = response.json()
    assert_error(body, "validation_error")
    fields = {f["field"]: f["message"] for f in body["error"]["fields"]}
    assert set(fields) == {"body.username", "body.password"}
    assert all(fields.values())


def test_create_token_not_json_is_422(api_client: TestClient) -> None:
    response = api_client.post(
        "/api/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert_error(response.json(), "validation_error")


def test_create_token_body_not_utf8_is_422(api_client: TestClient) -> None:
    # Found by schemathesis: the invalid input echoed in the error was bytes that are not UTF-8.
    response = api_client.post("/api/v1/auth/token", content=b"\x80", headers={"Content-Type": ""})
    assert response.status_code == 422
    assert_error(response.json(), "validation_error")


def test_read_me_without_credentials_is_401_shape(api_client: TestClient) -> None:
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert_error(response.json(), "unauthorized")


def test_read_health_and_readiness(api_client: TestClient, api: ApiWorld) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = api_client.get("/metrics")
    assert metrics.status_code == 200
    assert 'smokewatch_api_requests_total{method="GET",route="/readyz",status="200"}' in (
        metrics.text
    )


def test_read_readiness_broker_down_is_503(database_url: str) -> None:
    settings = make_api_settings(database_url, f"mqtt://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"].startswith("error")


def test_read_openapi_declares_security_schemes(api_client: TestClient) -> None:
    schema = api_client.get("/openapi.json").json()
    assert "/api/v1/auth/token" in schema["paths"]
    assert {"HTTPBearer", "APIKeyHeader", "APIKeyCookie"} <= set(
        schema["components"]["securitySchemes"]
    )


def test_create_push_stored_in_inbox(api_client: TestClient, api: ApiWorld) -> None:
    """The HTTP push router of issue 6 is mounted: a push is committed before the 200."""
    response = api_client.post("/ingest/ctwing", content=b'{"deviceId": "x"}')
    assert response.status_code == 200 and response.text == "ok"
    row = api.db.execute("SELECT codec, body FROM push_inbox").fetchone()
    assert (
        row is not None and row["codec"] == "ctwing" and bytes(row["body"]) == b'{"deviceId": "x"}'
    )
    unknown = api_client.post("/ingest/nope", content=b"{}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_serve_api_command_answers_health(database_url: str, mqtt_broker: LocalMosquitto) -> None:
    port = free_port()
    env = {"SMOKEWATCH_DATABASE_URL": database_url, "SMOKEWATCH_MQTT_URL": mqtt_broker.url,
           "SMOKEWATCH_ENVIRONMENT": "development", "PATH": "/usr/bin:/bin"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "smokewatch", "api", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def ready() -> int:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.HTTPError:
                return 0

        assert wait_until(lambda: ready() == 200, timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_responses_carry_security_headers(api_client: TestClient, api: ApiWorld) -> None:
    me = api_client.get("/api/v1/me", headers=api.admin_headers())
    missing = api_client.get("/api/v1/nothing")
    for response in (me, missing):
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
    assert "cache-control" not in api_client.get("/healthz").headers


def test_read_me_database_down_is_503_shape(mqtt_broker: LocalMosquitto) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    settings = make_api_settings(dead, mqtt_broker.url, api_pool_timeout_s=0.5)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/me", headers={"Authorization": "Bearer x"})
        ready = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["retry-after"] == "5"
    assert "postgres" not in response.text.lower()  # nothing about the server leaks
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "ok"
