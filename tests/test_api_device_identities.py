"""Vendor identities through the devices API (issue 17): normalised on registration so labels'
spelling matches traffic, rejected with a clear message when malformed, corrected later with
the old value kept in the registry history."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient

from core.codecs.registry import default_registry
from ingest.decode import Decode
from ingest.received import Received
from ingest.store import Store
from ingest.writer import commit
from tests.support.api import ApiWorld


def register(client: TestClient, headers: dict[str, str], device_id: str, model: str,
             identity: tuple[str, str]) -> Any:  # fmt: skip
    codec, external_id = identity
    return client.post(
        "/api/v1/devices",
        json={"id": device_id, "model_code": model,
              "identities": [{"codec": codec, "external_id": external_id}]},
        headers=headers,
    )  # fmt: skip


def chirpstack_up(dev_eui: str, obj: dict[str, Any]) -> Received:
    """A v4 ``up`` with a decoded object (chirpstack-docs integrations/events.md); ChirpStack
    writes the devEui in lower-case hex in the topic and in deviceInfo."""
    body = {
        "deduplicationId": "5e1c1a6e-0000-4000-8000-000000000001",
        "time": datetime.now(UTC).isoformat(),
        "deviceInfo": {"applicationId": "1", "devEui": dev_eui},
        "fPort": 10,
        "data": base64.b64encode(b"\x01").decode(),
        "object": obj,
    }
    return Received(
        mid=0,
        generation=0,
        qos=0,
        topic=f"application/1/device/{dev_eui}/event/up",
        payload=orjson.dumps(body),
        received_at=datetime.now(UTC),
        received_mono=time.monotonic(),
        retained=False,
    )


def test_register_dev_eui_as_printed_matches_traffic(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("installer")
    # The label's QR code: upper case, grouped by dashes.
    created = register(api_client, headers, "NZ-LW001", "lorawan-generic-smoke", ("chirpstack",
                       "A8-40-41-00-01-81-C0-DE"))  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["identities"] == [
        {"codec": "chirpstack", "external_id": "a84041000181c0de"}
    ]
    store, decode = Store(api.settings.database_url), Decode(registry=default_registry())
    try:
        up = chirpstack_up("a84041000181c0de", {"smoke": True, "battery": 90})
        result = commit(store, decode, [up])
    finally:
        store.close()
    assert result.events == 1 and result.dead_letters == []
    stored = api.db.execute("SELECT type FROM events WHERE device_id = 'NZ-LW001'").fetchall()
    assert [r["type"] for r in stored] == ["alarm"]


def test_register_malformed_identity_is_refused_with_reason(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("installer")
    short = register(api_client, headers, "NZ-LW002", "lorawan-generic-smoke", ("chirpstack",
                     "A8404100018"))  # fmt: skip
    assert short.status_code == 422
    assert "devEui" in short.text and "16" in short.text
    wrong_codec = register(api_client, headers, "NZ-LW003", "lorawan-generic-smoke",
                           ("zigbee2mqtt", "0x00158d0003467624"))  # fmt: skip
    assert wrong_codec.status_code == 400
    assert "chirpstack" in wrong_codec.json()["error"]["message"]
    assert api.db.execute("SELECT count(*) AS n FROM devices").fetchone() == {"n": 0}


def test_update_identity_keeps_history_and_refuses_taken_ids(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("installer")
    assert register(api_client, headers, "NZ-ZB001", "aqara-jy-gz-01aq", ("zigbee2mqtt",
                    "0x54EF441000A1B2C3")).status_code == 201  # fmt: skip
    assert register(api_client, headers, "NZ-ZB002", "aqara-jy-gz-01aq", ("zigbee2mqtt",
                    "0x54ef441000a1b2c4")).status_code == 201  # fmt: skip

    renamed = api_client.put(
        "/api/v1/devices/NZ-ZB001/identities/zigbee2mqtt",
        json={"external_id": "kitchen/smoke", "reason": "renamed in zigbee2mqtt"},
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["identities"] == [
        {"codec": "zigbee2mqtt", "external_id": "kitchen/smoke"}
    ]
    history = api.db.execute(
        "SELECT detail FROM registry_log WHERE action = 'identity_changed' AND device_id = %s",
        ("NZ-ZB001",),
    ).fetchall()
    assert [h["detail"] for h in history] == [
        {"codec": "zigbee2mqtt", "old": "0x54ef441000a1b2c3", "new": "kitchen/smoke",
         "reason": "renamed in zigbee2mqtt"}
    ]  # fmt: skip

    taken = api_client.put(
        "/api/v1/devices/NZ-ZB001/identities/zigbee2mqtt",
        json={"external_id": "0x54EF441000A1B2C4"},
        headers=headers,
    )
    assert taken.status_code == 409 and "NZ-ZB002" in taken.text
    bad = api_client.put(
        "/api/v1/devices/NZ-ZB001/identities/zigbee2mqtt",
        json={"external_id": "kitchen/#"},
        headers=headers,
    )
    assert bad.status_code == 400 and "#" in bad.json()["error"]["message"]
    other_codec = api_client.put(
        "/api/v1/devices/NZ-ZB001/identities/chirpstack",
        json={"external_id": "a84041000181c0de"},
        headers=headers,
    )
    assert other_codec.status_code == 400
