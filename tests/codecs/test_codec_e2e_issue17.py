"""Issue 17 replayed through the running system: Mosquitto -> ingest (codec lane) -> PostgreSQL.

Home Assistant discovery (retained config, then the state topic of the registered device), a
zigbee2mqtt rename (empty retained availability) and a Tuya self-test, and an undecodable
ChirpStack uplink from a registered device. Message shapes and their sources: see
test_homeassistant.py, test_zigbee2mqtt.py and test_codec_store_issue17.py.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

from core.factory import create_device
from tests.support import (
    Publisher,
    count,
    ingest_settings,
    running_ingest,
    unique_prefix,
    wait_until,
)


def register(url: str, device_id: str, model: str, codec: str, external_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        create_device(conn, device_id=device_id, model_code=model)
        conn.execute(
            "INSERT INTO device_identities (codec, external_id, device_id) VALUES (%s, %s, %s)",
            (codec, external_id, device_id),
        )


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def types_of(url: str, device_id: str) -> list[str]:
    found = rows(url, "SELECT type FROM events WHERE device_id = %s AND type <> 'online' "
                      "ORDER BY ts, id", (device_id,))  # fmt: skip
    return [r["type"] for r in found]


def test_replay_issue17_formats_through_mosquitto(database_url: str, mqtt_broker: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    z2m, cs, ha = f"z2m-{tag}", f"cs-{tag}", f"ha-{tag}"
    settings = ingest_settings(
        database_url,
        mqtt_broker.url,
        unique_prefix(),
        ingest_codecs=["zigbee2mqtt", "chirpstack", "homeassistant"],
        zigbee2mqtt_base_topic=z2m,
        chirpstack_topic_prefix=cs,
        homeassistant_discovery_prefix=ha,
        homeassistant_state_topics=[f"esp-{tag}/binary_sensor/+/state"],
    )
    node = f"esp-{tag}"
    state_topic = f"{node}/binary_sensor/smoke/state"
    smoke_config = {
        "name": "Smoke", "stat_t": state_topic, "dev_cla": "smoke", "uniq_id": f"{tag}-smoke",
        "dev": {"ids": f"mac-{tag}", "name": node, "sw": "esphome v2024.6.1"},
    }  # fmt: skip
    register(database_url, "NZ-E17HA", "ha-discovery-smoke", "homeassistant", f"mac-{tag}")
    register(database_url, "NZ-E17TY", "tuya-ts0601-smoke", "zigbee2mqtt", "0xa4c1380000e17e17")
    register(database_url, "NZ-E17GS", "milesight-gs524n", "chirpstack", "24e124538b22e17e")
    up = {
        "deduplicationId": f"{tag}-0001",
        "time": datetime.now(UTC).isoformat(),
        "deviceInfo": {"applicationId": "1", "devEui": "24e124538b22e17e"},
        "fPort": 85,
        "data": base64.b64encode(b"\x01\x02\x03").decode(),
    }

    with running_ingest(settings), Publisher(mqtt_broker.url) as pub:
        pub.publish(f"{ha}/binary_sensor/{node}/smoke/config", orjson.dumps(smoke_config),
                    retain=True)  # fmt: skip
        pub.flush()
        wait_until(lambda: count(database_url, "SELECT count(*) FROM ha_entities"))
        pub.publish(state_topic, b"OFF")
        pub.publish(state_topic, b"ON")
        pub.publish(f"{z2m}/old-name/availability", b"", retain=True)
        pub.publish(f"{z2m}/0xa4c1380000e17e17", b'{"smoke":false,"self_test":false}')
        pub.publish(f"{z2m}/0xa4c1380000e17e17", b'{"smoke":false,"self_test":true}')
        pub.publish(f"{cs}/1/device/24e124538b22e17e/event/up", orjson.dumps(up))
        pub.flush()
        wait_until(
            lambda: types_of(database_url, "NZ-E17HA") == ["alarm"]
            and types_of(database_url, "NZ-E17TY") == ["test"]
            and count(database_url, "SELECT count(*) FROM dead_letters")
        )
        # Clean the retained messages so other tests on this broker never see them.
        pub.publish(f"{ha}/binary_sensor/{node}/smoke/config", b"", retain=True)
        pub.flush()

    letters = rows(database_url, "SELECT device_id, reason_code FROM dead_letters")
    assert letters == [{"device_id": "NZ-E17GS", "reason_code": "unknown_payload"}]
    seen = rows(database_url, "SELECT last_seen FROM device_state WHERE device_id = 'NZ-E17GS'")
    assert seen[0]["last_seen"] is not None
    assert rows(database_url, "SELECT external_id FROM unregistered_devices") == []
    assert count(database_url, "SELECT count(*) FROM pending_events WHERE type = 'alarm'") == 1
