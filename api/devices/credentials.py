"""The devices domain's use of api.credentials (issue once, store the argon2id hash, revoke)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from api.credentials import issue_device_credentials, revoke_device_credentials
from api.devices.schemas import MqttCredentials
from api.security import Passwords
from api.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class Issuer:
    """What issuing and revoking need: the settings (broker mirror) and the password hasher."""

    settings: ApiSettings
    passwords: Passwords


def issue(conn: psycopg.Connection[Any], *, device_id: str, issuer: Issuer) -> MqttCredentials:
    """Issue (or rotate) the device's broker credentials; the password is only in the answer."""
    username, password = issue_device_credentials(
        conn, device_id=device_id, settings=issuer.settings, passwords=issuer.passwords
    )
    return MqttCredentials(username=username, password=password)


def revoke(conn: psycopg.Connection[Any], *, device_id: str, issuer: Issuer) -> None:
    """Revoke the device's broker credentials (a removed detector must not publish)."""
    revoke_device_credentials(conn, device_id=device_id, settings=issuer.settings)
