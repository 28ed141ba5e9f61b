"""API settings fail fast on unsafe values; CORS stays off unless origins are listed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.settings import ApiSettings
from core.errors import ConfigurationError
from tests.support.api import TEST_ACK_SECRET, TEST_TOKEN_SECRET, make_api_settings

LONG = "z" * 40


@pytest.mark.parametrize(
    ("api_secret", "ack_secret"),
    [("development-only-secret", LONG), ("short-secret", LONG), (LONG, "change-me"), (LONG, "")],
)
def test_refuse_placeholder_secrets_in_production(api_secret: str, ack_secret: str) -> None:
    with pytest.raises((ConfigurationError, ValidationError)):
        ApiSettings(environment="production", api_secret=api_secret, ack_secret=ack_secret,
                    onenet_token="t")  # fmt: skip


def test_accept_real_secrets_in_production_and_placeholders_in_development() -> None:
    production = ApiSettings(environment="production", api_secret=TEST_TOKEN_SECRET,
                             ack_secret=TEST_ACK_SECRET)  # fmt: skip
    assert production.cookie_secure is True
    development = ApiSettings(environment="development")
    assert development.cookie_secure is False
    assert ApiSettings(api_public_url="https://sw.example.org/").api_public_url == (
        "https://sw.example.org"
    )


@pytest.mark.parametrize("value", [["ftp://x"], ["example.org"]])
def test_refuse_malformed_cors_origins(value: list[str]) -> None:
    with pytest.raises(ValidationError):
        ApiSettings(api_cors_origins=value)


def test_cors_off_by_default_on_when_listed() -> None:
    preflight = {"Origin": "https://board.example.org", "Access-Control-Request-Method": "GET"}
    dead = "postgresql://nobody@127.0.0.1:1/none"
    off = TestClient(create_app(make_api_settings(dead, "mqtt://127.0.0.1:1")))
    assert "access-control-allow-origin" not in off.options("/api/v1/me", headers=preflight).headers
    on_settings = make_api_settings(dead, "mqtt://127.0.0.1:1",
                                    api_cors_origins=["https://board.example.org"])  # fmt: skip
    on = TestClient(create_app(on_settings))
    answer = on.options("/api/v1/me", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://board.example.org"
