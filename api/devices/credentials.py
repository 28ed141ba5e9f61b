"""A device's MQTT credentials: username = device id, a random secret shown once, argon2id-hashed.

Rows live in ``device_credentials`` (migration 0020, api-base); the broker mirror (dynamic
security, core/broker_auth.py) picks up rows whose ``broker_synced_at`` is NULL. Kept in the
devices domain until api-base's shared ``api/credentials.py`` exists; then this delegates.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg

from api.devices.schemas import MqttCredentials
from api.security import Passwords
from core.db import load_queries

Q = load_queries("api.devices", "credentials.sql")
SECRET_BYTES = 24


def issue(
    conn: psycopg.Connection[Any], *, device_id: str, passwords: Passwords
) -> MqttCredentials:
    """Issue (or rotate) the device's broker credentials; the password is only in the answer."""
    password = secrets.token_urlsafe(SECRET_BYTES)
    conn.execute(
        Q["upsert_credentials"],
        {"device_id": device_id, "username": device_id, "secret_hash": passwords.hash(password)},
    )
    return MqttCredentials(username=device_id, password=password)


def revoke(conn: psycopg.Connection[Any], *, device_id: str) -> None:
    """Revoke the device's broker credentials (a removed detector must not publish)."""
    conn.execute(Q["revoke_credentials"], {"device_id": device_id})
