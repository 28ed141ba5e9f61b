"""Device MQTT credentials: stored hashed, rotated, revoked, mirrored to a dynsec broker."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.credentials import (
    issue_device_credentials,
    revoke_device_credentials,
    verify_device_credentials,
)
from api.errors import NotFound
from api.security import Passwords
from api.settings import ApiSettings
from core.broker_auth import BrokerAuthError
from core.factory import create_device
from devtools.localservers import LocalMosquitto
from tests.support.api import ApiWorld, free_port
from tests.test_broker_auth import (
    PREFIX,
    Client,
    admin_url,
    secure_broker,  # noqa: F401 - the fixture
)


def register(api: ApiWorld, device_id: str) -> None:
    create_device(api.db, device_id=device_id)


def test_issue_device_credentials_stores_only_a_hash(api: ApiWorld) -> None:
    register(api, "NZ-C1")
    passwords = Passwords.from_settings(api.settings)
    username, secret = issue_device_credentials(
        api.db, device_id="NZ-C1", settings=api.settings, passwords=passwords
    )
    assert username == "NZ-C1" and len(secret) >= 32
    row = api.db.execute("SELECT * FROM device_credentials").fetchone()
    assert row is not None and secret not in row["secret_hash"]
    assert row["secret_hash"].startswith("$argon2id$") and row["broker_synced_at"] is None
    found = verify_device_credentials(api.db, username=username, secret=secret,
                                      passwords=passwords)  # fmt: skip
    assert found == "NZ-C1"
    assert verify_device_credentials(api.db, username=username, secret="x" * 32,
                                     passwords=passwords) is None  # fmt: skip


def test_issue_device_credentials_again_rotates_then_revoke(api: ApiWorld) -> None:
    register(api, "NZ-C2")
    passwords = Passwords.from_settings(api.settings)
    _, first = issue_device_credentials(api.db, device_id="NZ-C2", settings=api.settings)
    _, second = issue_device_credentials(api.db, device_id="NZ-C2", settings=api.settings)
    assert first != second
    check = {"username": "NZ-C2", "passwords": passwords}
    assert verify_device_credentials(api.db, secret=first, **check) is None  # type: ignore[arg-type]
    assert verify_device_credentials(api.db, secret=second, **check) == "NZ-C2"  # type: ignore[arg-type]
    assert revoke_device_credentials(api.db, device_id="NZ-C2", settings=api.settings)
    assert verify_device_credentials(api.db, secret=second, **check) is None  # type: ignore[arg-type]
    assert not revoke_device_credentials(api.db, device_id="NZ-C2", settings=api.settings)


def test_issue_device_credentials_unknown_device_is_not_found(api: ApiWorld) -> None:
    with pytest.raises(NotFound):
        issue_device_credentials(api.db, device_id="NZ-NONE", settings=api.settings)


def test_issue_device_credentials_broker_unreachable_raises(api: ApiWorld) -> None:
    register(api, "NZ-C3")
    settings = api.settings.model_copy(
        update={"broker_admin_url": SecretStr(f"mqtt://admin:x@127.0.0.1:{free_port()}")}
    )
    with pytest.raises(BrokerAuthError):
        issue_device_credentials(api.db, device_id="NZ-C3", settings=settings)


def test_issue_device_credentials_mirrored_to_dynsec_broker(
    api: ApiWorld,
    secure_broker: LocalMosquitto,  # noqa: F811
) -> None:
    register(api, "NZ-C4")
    settings: ApiSettings = api.settings.model_copy(
        update={"broker_admin_url": SecretStr(admin_url(secure_broker)), "topic_prefix": PREFIX}
    )
    username, secret = issue_device_credentials(api.db, device_id="NZ-C4", settings=settings)
    row = api.db.execute("SELECT broker_synced_at FROM device_credentials").fetchone()
    assert row is not None and row["broker_synced_at"] is not None
    device = Client(secure_broker, username, secret)
    try:
        assert not device.connack.is_failure
        device.mqtt.reconnect_delay_set(60, 60)
        revoke_device_credentials(api.db, device_id="NZ-C4", settings=settings)
        device.next("disconnect")  # the broker drops the revoked device at once
    finally:
        device.close()
    again = Client(secure_broker, username, secret)
    try:
        assert again.connack.is_failure
    finally:
        again.close()
