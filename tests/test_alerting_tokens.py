"""Signed acknowledge links: short, bound to incident and contact, expiring, unforgeable."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ConfigurationError
from core.incidents import InvalidToken, check_ack_secret, make_ack_token, verify_ack_token

SECRET = "s" * 40
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def token(incident: int = 1234, contact: int = 56, ttl_h: float = 72) -> str:
    return make_ack_token(
        incident_id=incident, contact_id=contact, secret=SECRET, ttl=timedelta(hours=ttl_h), now=NOW
    )


def test_verify_ack_token_accepts_own_token() -> None:
    claim = verify_ack_token(token(), secret=SECRET, now=NOW, incident_id=1234)
    assert (claim.incident_id, claim.contact_id) == (1234, 56)
    assert claim.expires_at == NOW + timedelta(hours=72)
    assert len(token()) <= 40, "the link must stay short enough for an SMS"


def _flip(text: str, index: int) -> str:
    ch = text[index]
    return text[:index] + ("a" if ch != "a" else "b") + text[index + 1 :]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: _flip(t, len(t) - 1), "bad signature"),  # signature changed
        (lambda t: _flip(t, 0), "bad signature"),  # incident id changed
        (lambda t: t.split(".", 1)[0] + ".zz." + t.split(".", 2)[2], "bad signature"),  # contact
        (lambda t: t.rsplit(".", 1)[0], "malformed"),  # signature removed
        (lambda t: "", "malformed"),
        (lambda t: t + ".x", "malformed"),
    ],
)
def test_verify_ack_token_refuses_tampered(mangle, reason) -> None:
    with pytest.raises(InvalidToken) as info:
        verify_ack_token(mangle(token()), secret=SECRET, now=NOW)
    assert info.value.reason == reason


def test_verify_ack_token_refuses_expired() -> None:
    short = token(ttl_h=1)
    verify_ack_token(short, secret=SECRET, now=NOW + timedelta(minutes=59))
    with pytest.raises(InvalidToken, match="expired"):
        verify_ack_token(short, secret=SECRET, now=NOW + timedelta(hours=1))


def test_verify_ack_token_refuses_other_incident() -> None:
    with pytest.raises(InvalidToken, match="another incident"):
        verify_ack_token(token(incident=1234), secret=SECRET, now=NOW, incident_id=1235)


def test_verify_ack_token_refuses_other_secret() -> None:
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_ack_token(token(), secret="t" * 40, now=NOW)


@pytest.mark.parametrize("secret", ["", "change-me", "development-only-secret", "short"])
def test_check_ack_secret_refuses_placeholder_outside_development(secret: str) -> None:
    assert check_ack_secret(secret, "development") == secret
    with pytest.raises(ConfigurationError):
        check_ack_secret(secret, "production")


def test_alerting_settings_refuse_placeholder_secret_outside_development(monkeypatch) -> None:
    from alerting.settings import AlertingSettings

    for key in [k for k in os.environ if k.startswith("SMOKEWATCH_")]:
        monkeypatch.delenv(key)
    assert AlertingSettings(environment="development").ack_secret.get_secret_value()
    with pytest.raises(ConfigurationError):
        AlertingSettings(environment="production")
    monkeypatch.setenv("SMOKEWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("SMOKEWATCH_ACK_SECRET", "p" * 48)
    monkeypatch.setenv("SMOKEWATCH_ALERTING_RATE_LIMITS", '{"wecombot": 18}')
    monkeypatch.setenv("SMOKEWATCH_ALERTING_MONITORING_URLS", '["json://127.0.0.1:9/desk"]')
    monkeypatch.setenv("SMOKEWATCH_ACK_BASE_URL", "https://sw.example/a")
    settings = AlertingSettings()
    assert settings.alerting_rate_limits == {"wecombot": 18}
    assert settings.alerting_monitoring_urls == ["json://127.0.0.1:9/desk"]
    assert settings.ack_base_url == "https://sw.example/a/"
    assert "p" * 48 not in repr(settings)
