"""Vendor formats end to end: simulator formats -> Mosquitto or HTTP -> ingest -> PostgreSQL.

MQTT codecs (zigbee2mqtt, ChirpStack) go through the private Mosquitto; push codecs (CTWing,
OneNET) through the push router mounted on a tiny FastAPI app (the real API app includes the same
router), then the push inbox processed by the running ingest. Every alarm must reach
``pending_events``, the alert engine's queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from api import push_routes
from api.deps import get_conn
from api.errors import install_error_handlers
from core.codecs.registry import CodecConfig, default_registry
from core.factory import create_device
from device_sim import formats
from tests.support import (
    Publisher,
    count,
    ingest_settings,
    running_ingest,
    unique_prefix,
    wait_until,
)

TOKEN = "e2e-onenet-token"


def register(url: str, device_id: str, model: str, codec: str, external_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        create_device(conn, device_id=device_id, model_code=model)
        conn.execute(
            "INSERT INTO device_identities (codec, external_id, device_id) VALUES (%s, %s, %s)",
            (codec, external_id, device_id),
        )


def events_of(url: str, device_id: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT type FROM events WHERE device_id = %s AND type <> 'online' ORDER BY ts, id",
            (device_id,),
        ).fetchall()
    return [row[0] for row in rows]


def pending(url: str, device_id: str, event_type: str) -> int:
    return count(
        url,
        "SELECT count(*) FROM pending_events WHERE device_id = %s AND type = %s",
        (device_id, event_type),
    )


def settings_for(database_url: str, mqtt_url: str) -> Any:
    tag = uuid.uuid4().hex[:8]
    return ingest_settings(
        database_url,
        mqtt_url,
        unique_prefix(),
        zigbee2mqtt_base_topic=f"z2m-{tag}",
        chirpstack_topic_prefix=f"cs-{tag}",
        onenet_token=TOKEN,
        ingest_push_poll_s=0.2,
    )


def test_ingest_zigbee2mqtt_transitions_through_mosquitto(database_url: str, mqtt_broker) -> None:
    settings = settings_for(database_url, mqtt_broker.url)
    base = settings.zigbee2mqtt_base_topic
    name = "0x00158d0003467624"
    register(database_url, "NZ-Z0001", "heiman-hs1sa", "zigbee2mqtt", name)
    # Full state republished on every change: only false -> true is an alarm. Several
    # messages for the same device usually land in one batch: state must carry between them.
    sequence = [
        formats.zigbee_state(name, smoke=False, base_topic=base),
        formats.zigbee_state(name, smoke=True, base_topic=base),
        formats.zigbee_state(name, smoke=True, battery=99, base_topic=base),
        formats.zigbee_state(name, smoke=False, battery=99, base_topic=base),
        formats.zigbee_state("0xdeadbeefdeadbeef", smoke=True, base_topic=base),
        formats.zigbee_bridge_state(online=False, base_topic=base),
    ]
    with running_ingest(settings):
        with Publisher(mqtt_broker.url) as pub:
            for topic, payload in sequence:
                pub.publish(topic, payload)
        wait_until(
            lambda: (
                count(
                    database_url,
                    "SELECT count(*) FROM unregistered_devices WHERE source = 'zigbee2mqtt'",
                )
                and events_of(database_url, "NZ-Z0001") == ["alarm", "alarm_cleared"]
            )
        )
    assert pending(database_url, "NZ-Z0001", "alarm") == 1
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        state = conn.execute(
            "SELECT alarm_active, battery_pct FROM device_state WHERE device_id = 'NZ-Z0001'"
        ).fetchone()
        stranger = conn.execute(
            "SELECT external_id, last_payload FROM unregistered_devices "
            "WHERE source = 'zigbee2mqtt'"
        ).fetchone()
    assert state == {"alarm_active": False, "battery_pct": 99}
    assert stranger is not None and stranger["external_id"] == "0xdeadbeefdeadbeef"
    assert bytes(stranger["last_payload"]) == sequence[4][1]
    # Codec state is kept for registered identities only: made-up ids cannot grow the table.
    assert count(database_url, "SELECT count(*) FROM codec_states") == 1


def test_ingest_chirpstack_uplink_and_status_through_mosquitto(
    database_url: str, mqtt_broker
) -> None:
    settings = settings_for(database_url, mqtt_broker.url)
    prefix = settings.chirpstack_topic_prefix
    eui = "24e124535b312345"
    register(database_url, "NZ-L0001", "milesight-gs524n", "chirpstack", eui)
    with running_ingest(settings):
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(*formats.chirpstack_up(eui, formats.gs524n_frame(1), prefix=prefix))
            pub.publish(*formats.chirpstack_status(eui, battery_level=42.0, prefix=prefix))
        wait_until(lambda: "alarm" in events_of(database_url, "NZ-L0001"))
        wait_until(
            lambda: count(
                database_url,
                "SELECT count(*) FROM device_state WHERE device_id = 'NZ-L0001' "
                "AND battery_pct = 42",
            )
        )
    assert pending(database_url, "NZ-L0001", "alarm") == 1


def _client(database_url: str) -> TestClient:
    def connection() -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
            yield conn

    app = FastAPI()
    app.state.push_registry = default_registry(CodecConfig(onenet_token=TOKEN))
    app.state.push_guard = push_routes.PushGuard()
    app.dependency_overrides[get_conn] = connection
    install_error_handlers(app)
    app.include_router(push_routes.router)
    return TestClient(app)


def test_ingest_ctwing_and_onenet_push_through_http(database_url: str, mqtt_broker) -> None:
    settings = settings_for(database_url, mqtt_broker.url)
    register(database_url, "NZ-C0001", "nbiot-ctwing-smoke", "ctwing", "ctw0001")
    register(database_url, "NZ-O0001", "nbiot-onenet-smoke", "onenet", "C6z4Zk012B/smoke01")
    client = _client(database_url)
    fire = formats.ctwing_data_report("ctw0001", {"smoke_alarm": 1, "battery": 80}, up_packet_sn=7)
    onenet = formats.onenet_property_push(
        "C6z4Zk012B", "smoke01", {"smoke_alarm": 1, "battery": 66}, token=TOKEN, push_id="m-1"
    )
    forged = onenet.replace(b"smoke01", b"smoke02")
    # Accepted (durably) before any ingest runs: the inbox holds the requests.
    for path, body in (
        ("/ingest/ctwing", fire),
        ("/ingest/ctwing", fire),  # the platform's retry: same upPacketSN
        ("/ingest/onenet", onenet),
        ("/ingest/onenet", onenet),  # same message id
    ):
        assert client.post(path, content=body).status_code == 200
    # A forged OneNET push is refused before anything is stored.
    refused = client.post("/ingest/onenet", content=forged)
    assert refused.status_code == 401 and "bad_signature" in refused.text
    assert count(database_url, "SELECT count(*) FROM push_inbox") == 4
    assert client.post("/ingest/zigbee2mqtt", content=b"{}").status_code == 404
    query = formats.onenet_verification_query(TOKEN, "kYWqfXzM")
    answer = client.get("/ingest/onenet", params=query)
    assert answer.status_code == 200 and answer.text == "kYWqfXzM"
    assert client.get("/ingest/onenet", params={**query, "msg": "x"}).status_code == 400

    with running_ingest(settings):
        wait_until(lambda: count(database_url, "SELECT count(*) FROM push_inbox") == 0)
    assert events_of(database_url, "NZ-C0001") == ["alarm"]
    assert events_of(database_url, "NZ-O0001") == ["alarm"]
    assert pending(database_url, "NZ-C0001", "alarm") == 1
    assert pending(database_url, "NZ-O0001", "alarm") == 1
    assert count(database_url, "SELECT count(*) FROM dead_letters WHERE source = 'http'") == 0
    assert count(database_url, "SELECT count(*) FROM push_dedupe") == 2


def test_ingest_keeps_native_payload_with_nul(database_url: str, mqtt_broker) -> None:
    # PostgreSQL's jsonb refuses \u0000: the store drops the character and keeps the message.
    prefix = unique_prefix()
    with psycopg.connect(database_url, autocommit=True) as conn:
        create_device(conn, device_id="NZ-N0001")
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(
                f"{prefix}/NZ-N0001/event", b'{"type": "alarm", "seq": 1, "note": "a\\u0000b"}'
            )
        wait_until(lambda: events_of(database_url, "NZ-N0001") == ["alarm"])
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0
    assert count(database_url, "SELECT count(*) FROM events WHERE raw->>'note' = 'ab'") == 1
