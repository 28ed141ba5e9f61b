"""The ingest stages one by one: what the edge records, what the decode step parks, what the
writer does with a message the store rejects. Real PostgreSQL; the lane is fed a message as
paho hands it over, because the broker itself refuses a topic that is not UTF-8."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import paho.mqtt.client as mqtt
import psycopg
from psycopg.rows import dict_row

from core.codecs.registry import default_registry
from core.config import parse_mqtt_url
from ingest.decode import Decode, NativeFormat
from ingest.lane import MqttLane
from ingest.received import Received
from ingest.store import Store
from ingest.writer import LaneWriter, commit
from tests.support import register_devices, wait_until

PREFIX = "sw/v1"
NATIVE = Decode(native=NativeFormat(PREFIX, 16 * 1024))


def received(topic: str, payload: bytes, mid: int = 0) -> Received:
    now = datetime.now(UTC)
    return Received(mid, 1, 1, topic, payload, now, time.monotonic(), False)


def letters(url: str) -> list[dict[str, object]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT source, topic, device_id, reason_code, reason FROM dead_letters ORDER BY id"
        ).fetchall()


def test_lane_records_topic_that_is_not_utf8_and_decode_parks_it(database_url: str) -> None:
    got: list[Received] = []
    lane = MqttLane(
        name="events",
        endpoint=parse_mqtt_url("mqtt://127.0.0.1:1"),  # never started: nothing connects
        client_id="stages-test",
        subscriptions=[],
        sink=got.append,
        receive_maximum=10,
        session_expiry_s=60,
    )
    message = mqtt.MQTTMessage(mid=7, topic=b"sw/v1/NZ-\xff/event")
    message.payload, message.qos = b'{"type": "alarm"}', 1
    lane._on_message(lane._client, None, message)
    assert len(got) == 1 and not got[0].topic_ok and got[0].topic == "sw/v1/NZ-\ufffd/event"
    assert (got[0].mid, got[0].qos) == (7, 1)
    store = Store(database_url)
    try:
        result = commit(store, NATIVE, got)
    finally:
        store.close()
    assert [(d.reason_code, d.topic) for d in result.dead_letters] == [
        ("bad_topic", "sw/v1/NZ-\ufffd/event")
    ]
    assert letters(database_url) == [
        {
            "source": "mqtt",
            "topic": "sw/v1/NZ-\ufffd/event",
            "device_id": None,
            "reason_code": "bad_topic",
            "reason": "topic is not valid UTF-8",
        }
    ]


def test_decode_parks_in_arrival_order_naming_device_when_topic_does(database_url: str) -> None:
    register_devices(database_url, ["NZ-S0001"])
    batch = [
        received("sw/v1/NZ-S0001/event", b'{"type": "meltdown"}'),  # the topic names it
        received("sw/v1/bad..id!/event", b'{"type": "alarm"}'),  # the topic names nobody
        received("sw/v1/NZ-S0001/event", b'{"type": "alarm", "seq": 1}'),
        received("zigbee2mqtt/kitchen", b"{}"),  # a vendor topic on a native lane
    ]
    store = Store(database_url)
    try:
        result = commit(store, NATIVE, batch)
    finally:
        store.close()
    assert result.events == 1
    assert [(d["reason_code"], d["device_id"]) for d in letters(database_url)] == [
        ("unknown_event_type", "NZ-S0001"),
        ("bad_device_id", None),
        ("bad_topic", None),
    ]


def test_decode_picks_vendor_codec_by_topic_and_parks_unowned_topic(database_url: str) -> None:
    decode = Decode(registry=default_registry())
    store = Store(database_url)
    try:
        result = commit(
            store,
            decode,
            [
                received("nobody/owns/this", b"{}"),
                received("zigbee2mqtt/0x00124b0018e2a1b2", b"not json"),
            ],
        )
    finally:
        store.close()
    assert [d.reason_code for d in result.dead_letters] == ["bad_topic", "bad_json"]


def test_writer_parks_message_store_rejects_and_acks_the_batch(database_url: str) -> None:
    register_devices(database_url, ["NZ-S0001", "NZ-S0002"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        # A real rejection inside the batch's transaction, for one device only.
        conn.execute(
            """
            CREATE FUNCTION test_reject() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'rejected for the test'; END $$;
            CREATE TRIGGER test_reject BEFORE INSERT ON events
            FOR EACH ROW WHEN (NEW.device_id = 'NZ-S0002') EXECUTE FUNCTION test_reject();
            """
        )
    acked: list[tuple[int, int]] = []
    writer = LaneWriter(
        lane="events",
        store=Store(database_url),
        decode=NATIVE,
        acknowledge=acked.extend,
        batch_max=500,
        window_s=0.05,
        wait_for_batch=False,
    )
    alarm = orjson.dumps({"type": "alarm", "seq": 1})
    items = [
        received("sw/v1/NZ-S0001/event", alarm, mid=1),
        received("sw/v1/NZ-S0002/event", alarm, mid=2),
        received("sw/v1/NZ-S0001/event", orjson.dumps({"type": "test", "seq": 2}), mid=3),
    ]
    for item in items:  # queued before the thread starts: one batch of three
        writer.submit(item)
    writer.start()
    try:
        wait_until(lambda: len(acked) == 3, timeout=20)
    finally:
        writer.stop()
        writer.join(timeout=10)
    assert sorted(acked) == [(1, 1), (2, 1), (3, 1)]
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT device_id, type FROM events ORDER BY id").fetchall()
    assert [s for s in stored if s[1] != "online"] == [("NZ-S0001", "alarm"), ("NZ-S0001", "test")]
    parked = letters(database_url)
    assert [(d["reason_code"], d["topic"]) for d in parked] == [
        ("store_error", "sw/v1/NZ-S0002/event")
    ]
    assert "rejected for the test" in str(parked[0]["reason"])
