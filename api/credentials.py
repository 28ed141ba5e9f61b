"""Device MQTT credentials: issued when a device is registered, shown once, stored hashed.

The registry is the source of truth. When ``SMOKEWATCH_BROKER_ADMIN_URL`` is set (a Mosquitto
with the dynamic-security plugin, see docs/operations.md), every issue and revocation is
mirrored to the broker in the same request, before the transaction commits: if the broker does
not confirm, the call raises :class:`core.broker_auth.BrokerAuthError` (the API answers 503),
the row is rolled back and the caller retries. Without an admin URL the credentials are only
stored (a broker authenticating against the database can check them with
:func:`verify_device_credentials`).

    creds = issue_device_credentials(conn, device_id="NZ-0001", settings=settings)
    creds.username, creds.password        # also unpacks: username, secret = creds
    revoke_device_credentials(conn, device_id="NZ-0001", settings=settings)
"""

from __future__ import annotations

import logging
import queue
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg

from api.errors import NotFound
from api.security import Passwords
from api.settings import ApiSettings
from core.broker_auth import BrokerAuthError, DynsecAdmin
from core.db import load_queries

Q = load_queries("api", "credentials_queries.sql")
log = logging.getLogger(__name__)
_SECRET_BYTES = 24  # 32 characters of base64url: far beyond guessing


class DeviceCredentials(NamedTuple):
    """A device's MQTT username and secret, as shown once to whoever registered it."""

    username: str
    password: str


def issue_device_credentials(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    settings: ApiSettings,
    passwords: Passwords | None = None,
) -> DeviceCredentials:
    """New MQTT credentials for ``device_id`` (rotating any previous ones).

    The secret exists only in the return value; the database keeps its argon2id hash.
    """
    if conn.execute(Q["device_exists"], {"device_id": device_id}).fetchone() is None:
        raise NotFound("no such device")
    passwords = passwords or Passwords.from_settings(settings)
    username = device_id  # the broker's per-device role is named after the id
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    conn.execute(
        Q["upsert_credentials"],
        {"device_id": device_id, "username": username, "secret_hash": passwords.hash(secret)},
    )
    if settings.broker_admin_url is not None:
        with _broker(settings) as admin:
            admin.register_device(device_id, secret, prefix=settings.topic_prefix)
        conn.execute(Q["mark_synced"], {"device_id": device_id})
        log.info("device %s: credentials issued and registered on the broker", device_id)
    return DeviceCredentials(username, secret)


def revoke_device_credentials(
    conn: psycopg.Connection[Any], *, device_id: str, settings: ApiSettings
) -> bool:
    """Revoke the device's credentials (the broker disconnects it at once when mirrored).

    Returns False when the device had no live credentials; the broker is told either way.
    """
    row = conn.execute(Q["revoke_credentials"], {"device_id": device_id}).fetchone()
    if settings.broker_admin_url is not None:
        with _broker(settings) as admin:
            admin.revoke_device(device_id)
        conn.execute(Q["mark_synced"], {"device_id": device_id})
        log.info("device %s: credentials revoked on the broker", device_id)
    return row is not None


def verify_device_credentials(
    conn: psycopg.Connection[Any], *, username: str, secret: str, passwords: Passwords
) -> str | None:
    """The device id when ``username``/``secret`` are live credentials, else None."""
    row = conn.execute(Q["live_credentials"], {"username": username}).fetchone()
    if row is None or not passwords.verify(row["secret_hash"], secret):
        return None
    device_id: str = row["device_id"]
    return device_id


@contextmanager
def _broker(settings: ApiSettings) -> Iterator[DynsecAdmin]:
    """The dynsec admin connection; an unreachable broker is a :class:`BrokerAuthError` too."""
    assert settings.broker_admin_url is not None
    admin = DynsecAdmin(settings.broker_admin_url.get_secret_value())
    try:
        admin.connect()
    except (OSError, queue.Empty) as exc:
        raise BrokerAuthError(f"the broker is unreachable: {type(exc).__name__}") from exc
    try:
        yield admin
    finally:
        admin.close()
