"""The devices domain's view of MQTT credentials (issued and revoked by api.credentials)."""

from __future__ import annotations

from typing import Any

import psycopg

from api.devices.schemas import MqttCredentials


def issue(conn: psycopg.Connection[Any], *, device_id: str) -> MqttCredentials:
    """Issue (or rotate) the device's broker credentials; the password is only in the answer."""
    from api.credentials import issue_device_credentials

    issued = issue_device_credentials(conn, device_id=device_id)
    return MqttCredentials(username=issued.username, password=issued.password)


def revoke(conn: psycopg.Connection[Any], *, device_id: str) -> None:
    """Revoke the device's broker credentials (a removed detector must not publish)."""
    from api.credentials import revoke_device_credentials

    revoke_device_credentials(conn, device_id=device_id)
