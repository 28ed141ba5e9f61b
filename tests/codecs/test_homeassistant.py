"""Home Assistant MQTT discovery (issue 17, item 7): configs become announcements, state topics
become canonical records once the entity's device is registered.

Formats from Home Assistant's MQTT documentation (home-assistant/home-assistant.io
``source/_integrations/mqtt.markdown`` "MQTT Discovery": topic
``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config``, abbreviations, ``~``, device
discovery with ``cmps``; ``binary_sensor.mqtt.markdown``: payload_on ``ON``/payload_off ``OFF``
defaults) and ESPHome's MQTT component (state topic ``<node>/<component>/<object_id>/state``,
``ON``/``OFF`` for binary sensors, device ``identifiers`` = the node's MAC address).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from codec_support import NOW
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from core.codecs.homeassistant import HomeAssistantCodec, template_path, topic_matches
from core.codecs.registry import CodecConfig, default_registry
from core.codecs.types import Message
from core.errors import DecodeError
from core.factory import create_device
from ingest.decode import Decode
from ingest.received import Received
from ingest.store import Store
from ingest.writer import commit
from tests.support.api import ApiWorld

CODEC = HomeAssistantCodec()
MAC = "a4cf12b3c4d5"

# ESPHome-style configs: abbreviated keys, device identified by the node's MAC.
SMOKE_CONFIG = {
    "name": "Kitchen smoke",
    "stat_t": "kitchen-smoke/binary_sensor/smoke/state",
    "dev_cla": "smoke",
    "uniq_id": f"{MAC}-smoke",
    "dev": {"ids": MAC, "name": "kitchen-smoke", "sw": "esphome v2024.6.1", "mdl": "esp32dev",
            "mf": "espressif"},
}  # fmt: skip
BATTERY_CONFIG = {
    "name": "Battery",
    "stat_t": "kitchen-smoke/sensor/battery/state",
    "dev_cla": "battery",
    "unit_of_meas": "%",
    "uniq_id": f"{MAC}-battery",
    "dev": {"ids": [MAC], "name": "kitchen-smoke"},
}
# A Tasmota-like JSON state shared by entities, read with simple templates and "~".
TAMPER_CONFIG = {
    "~": "tele/smoke2",
    "name": "Tamper",
    "stat_t": "~/SENSOR",
    "dev_cla": "tamper",
    "val_tpl": "{{ value_json['Tamper'] }}",
    "pl_on": "1",
    "pl_off": "0",
    "uniq_id": "smoke2-tamper",
    "dev": {"ids": ["smoke2"]},
}


def config(topic: str, body: dict[str, Any] | None) -> Message:
    return Message(b"" if body is None else orjson.dumps(body), NOW, topic)


def test_decode_config_with_abbreviations_and_base_topic() -> None:
    decoded = CODEC.decode(config("homeassistant/binary_sensor/kitchen-smoke/smoke/config",
                                  SMOKE_CONFIG), {})  # fmt: skip
    (announcement,) = decoded.announcements
    (entity,) = announcement.entities
    assert entity["device_key"] == MAC and entity["device_class"] == "smoke"
    assert entity["state_topic"] == "kitchen-smoke/binary_sensor/smoke/state"
    assert (entity["payload_on"], entity["payload_off"]) == ("ON", "OFF")
    assert entity["device"]["sw_version"] == "esphome v2024.6.1"
    assert decoded.records == () and decoded.external_ids == ()
    tasmota = CODEC.decode(config("homeassistant/binary_sensor/smoke2_tamper/config",
                                  TAMPER_CONFIG), {}).announcements[0].entities[0]  # fmt: skip
    assert tasmota["state_topic"] == "tele/smoke2/SENSOR"
    assert tasmota["path"] == ["$json", "Tamper"] and tasmota["unsupported"] is None


def test_decode_device_discovery_components() -> None:
    body = {
        "dev": {"ids": "ea334450945afc", "name": "Hall", "mf": "Bla electronics"},
        "o": {"name": "bla2mqtt"},
        "cmps": {
            "smoke1": {"p": "binary_sensor", "device_class": "smoke",
                       "value_template": "{{ value_json.smoke }}", "unique_id": "hall_smoke",
                       "payload_on": True, "payload_off": False},
            "bat1": {"p": "sensor", "device_class": "battery", "unit_of_measurement": "%",
                     "value_template": "{{ value_json.battery }}", "unique_id": "hall_bat"},
        },
        "state_topic": "hall/state",
    }  # fmt: skip
    decoded = CODEC.decode(config("homeassistant/device/hall/config", body), {})
    (announcement,) = decoded.announcements
    assert [(e["key"], e["component"], e["state_topic"], e["device_key"])
            for e in announcement.entities] == [
        ("smoke1", "binary_sensor", "hall/state", "ea334450945afc"),
        ("bat1", "sensor", "hall/state", "ea334450945afc"),
    ]  # fmt: skip
    # Home Assistant validates payload_on as a string: JSON true becomes "True".
    assert announcement.entities[0]["payload_on"] == "True"


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{ value_json.smoke }}", ["$json", "smoke"]),
        ("{{value_json['smoke']}}", ["$json", "smoke"]),
        ('{{ value_json["Smoke"].state }}', ["$json", "Smoke", "state"]),
        ("{{ value }}", []),
        ("{{ value_json.smoke | int }}", None),
        ("{% if value_json.a %}ON{% endif %}", None),
        ("{{ 'ON' if value_json.s > 3 else 'OFF' }}", None),
        ("{{ value.upper() }}", None),
    ],
)
def test_template_path_reads_simple_forms_only(template: str, path: list[str] | None) -> None:
    assert template_path(template) == path


def test_unsupported_template_is_recorded_on_entity() -> None:
    body = {**SMOKE_CONFIG, "val_tpl": "{{ value_json.s | int > 0 }}"}
    decoded = CODEC.decode(config("homeassistant/binary_sensor/k/smoke/config", body), {})
    assert "not one of the simple forms" in decoded.announcements[0].entities[0]["unsupported"]


def test_empty_config_withdraws_entity() -> None:
    decoded = CODEC.decode(config("homeassistant/binary_sensor/k/smoke/config", None), {})
    assert decoded.announcements[0].entities == ()


def test_state_topic_without_config_says_nothing() -> None:
    message = Message(b"ON", NOW, "kitchen-smoke/binary_sensor/smoke/state")
    assert CODEC.identify(message) == ("kitchen-smoke/binary_sensor/smoke/state",)
    decoded = CODEC.decode(message, {})
    assert decoded.records == () and decoded.external_ids == ()


def test_decode_rejects_bad_discovery_topic() -> None:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(config("homeassistant/binary_sensor/bad id/config", SMOKE_CONFIG), {})
    assert info.value.code == "bad_topic"


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("+/binary_sensor/+/state", "kitchen/binary_sensor/smoke/state", True),
        ("+/binary_sensor/+/state", "kitchen/binary_sensor/smoke/state/x", False),
        ("tele/#", "tele/smoke2/SENSOR", True),
        ("tele/+/SENSOR", "tele/smoke2/STATE", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches


# --- through the codec store and PostgreSQL -------------------------------------------------------

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def inbound(topic: str, payload: bytes, step: int) -> Received:
    return Received(
        mid=0,
        generation=0,
        qos=0,
        topic=topic,
        payload=payload,
        received_at=T0 + timedelta(seconds=step),
        received_mono=time.monotonic(),
        retained=False,
    )


# Tasmota's state topics are not ESPHome's: a deployment adds them to the state filters.
STATE_TOPICS = ("+/binary_sensor/+/state", "+/sensor/+/state", "tele/+/SENSOR")


def write(url: str, messages: list[Received]) -> list[Any]:
    registry = default_registry(CodecConfig(homeassistant_state_topics=STATE_TOPICS))
    store, decode = Store(url), Decode(registry=registry)
    try:
        return [commit(store, decode, [m]) for m in messages]
    finally:
        store.close()


def announce(url: str) -> None:
    write(url, [
        inbound("homeassistant/binary_sensor/kitchen-smoke/smoke/config",
                orjson.dumps(SMOKE_CONFIG), 0),
        inbound("homeassistant/sensor/kitchen-smoke/battery/config",
                orjson.dumps(BATTERY_CONFIG), 0),
        inbound("homeassistant/binary_sensor/smoke2_tamper/config", orjson.dumps(TAMPER_CONFIG), 0),
        inbound("homeassistant/binary_sensor/smoke3/config",
                orjson.dumps({**SMOKE_CONFIG, "stat_t": "smoke3/binary_sensor/smoke/state",
                              "val_tpl": "{{ value_json.s | int }}", "dev": {"ids": "smoke3"}}), 0),
    ])  # fmt: skip


def test_state_of_registered_discovered_detector_becomes_events(database_url: str) -> None:
    announce(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for device_id, key in (("NZ-HA001", MAC), ("NZ-HA002", "smoke2"), ("NZ-HA003", "smoke3")):
            create_device(conn, device_id=device_id, model_code="ha-discovery-smoke")
            conn.execute("INSERT INTO device_identities VALUES ('homeassistant', %s, %s)",
                         (key, device_id))  # fmt: skip
    smoke, battery = SMOKE_CONFIG["stat_t"], BATTERY_CONFIG["stat_t"]
    results = write(database_url, [
        inbound(smoke, b"OFF", 1),
        inbound(battery, b"80", 2),
        inbound(smoke, b"ON", 3),  # device_class smoke, payload_on: a fire alarm
        inbound(smoke, b"ON", 4),  # retained redelivery: no second alarm
        inbound(battery, b"15", 5),  # ha-discovery-smoke thresholds: low at <= 20 %
        inbound(smoke, b"OFF", 6),
        inbound("tele/smoke2/SENSOR", b'{"Tamper": 1, "Time": "2026-12-01T09:00:07"}', 7),
        inbound("smoke3/binary_sensor/smoke/state", b'{"s": 1}', 8),
    ])  # fmt: skip
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        found = conn.execute(
            "SELECT device_id, type FROM events WHERE type <> 'online' ORDER BY ts, id"
        ).fetchall()
        state = conn.execute(
            "SELECT battery_pct FROM device_state WHERE device_id = 'NZ-HA001'"
        ).fetchone()
        letters = conn.execute("SELECT device_id, reason_code FROM dead_letters").fetchall()
    assert [(r["device_id"], r["type"]) for r in found] == [
        ("NZ-HA001", "alarm"),
        ("NZ-HA001", "low_battery"),
        ("NZ-HA001", "alarm_cleared"),
        ("NZ-HA002", "tamper"),
    ]
    assert state == {"battery_pct": 15.0}
    # An unsupported template is a dead letter with its reason, naming the device.
    assert letters == [{"device_id": "NZ-HA003", "reason_code": "unsupported_template"}]
    assert results[-1].dead_letters[0].reason.startswith("value_template")


def test_list_discovered_devices_for_installers(
    api_client: TestClient, api: ApiWorld, database_url: str
) -> None:
    announce(database_url)
    headers = api.headers("installer")
    listed = api_client.get("/api/v1/devices/discovered", headers=headers)
    assert listed.status_code == 200, listed.text
    by_key = {d["device_key"]: d for d in listed.json()}
    assert set(by_key) == {MAC, "smoke2", "smoke3"}
    assert by_key[MAC]["smoke_detector"] is True and by_key[MAC]["name"] == "kitchen-smoke"
    assert by_key["smoke3"]["entities"][0]["unsupported"].startswith("value_template")

    created = api_client.post(
        "/api/v1/devices",
        json={"id": "NZ-HA010", "model_code": "ha-discovery-smoke",
              "identities": [{"codec": "homeassistant", "external_id": MAC}]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    waiting = api_client.get("/api/v1/devices/discovered?unregistered=true", headers=headers)
    assert {d["device_key"] for d in waiting.json()} == {"smoke2", "smoke3"}
    done = api_client.get("/api/v1/devices/discovered?unregistered=false", headers=headers)
    assert [(d["device_key"], d["registered_device_id"]) for d in done.json()] == [
        (MAC, "NZ-HA010")
    ]
