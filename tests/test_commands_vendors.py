"""Commands over zigbee2mqtt and ChirpStack, through Mosquitto and simulated gateways.

zigbee2mqtt: ``<base>/<friendly_name>/set`` with the model's writable property
(zigbee-herdsman-converters, see core/commands/model.py); acknowledged when the device's next
(non-retained) state shows the effect. ChirpStack v4: a confirmed downlink on
``application/<id>/device/<devEui>/command/down`` (chirpstack-docs integrations/mqtt.md);
acknowledged by the network server's ``event/ack`` with ``acknowledged: true``.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import psycopg

from core.commands import Kind, Requester
from core.config import parse_mqtt_url
from device_sim.commands import ChirpStackResponder, Zigbee2MqttResponder
from devtools.localservers import LocalMosquitto
from ingest.commands.transports import Topics
from tests.support import wait_until
from tests.support.alerting import seed_household
from tests.support.commands import Clock, ask, open_incident, running_dispatcher, wait_state


def _device(db: psycopg.Connection[Any], model: str, codec: str, external_id: str) -> str:
    home = seed_household(db, lambda name: [], tag=uuid.uuid4().hex[:6])
    db.execute("UPDATE devices SET model_code = %s WHERE id = %s", (model, home.device_id))
    db.execute(
        "INSERT INTO device_identities (codec, external_id, device_id) VALUES (%s, %s, %s)",
        (codec, external_id, home.device_id),
    )
    return home.device_id


def _request(db: psycopg.Connection[Any], device_id: str, kind: Kind, clock: Clock,
             **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    return ask(db, device_id, kind, requested_by="tester", now=clock.now, **kwargs)


def _topics(prefix: str, base: str, app: str | None = None) -> Topics:
    return Topics(prefix, zigbee2mqtt_base=base, chirpstack_prefix=base,
                  chirpstack_application_id=app)  # fmt: skip


def test_silence_zigbee2mqtt_tuya_acknowledged_by_state(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    base = f"{topic_prefix}-z2m"
    device_id = _device(db, "tuya-ts0601-smoke", "zigbee2mqtt", "kitchen_smoke")
    incident_id = open_incident(db, device_id, acknowledged_by="operator-1")
    clock = Clock()
    endpoint = parse_mqtt_url(mqtt_broker.url)
    with (
        Zigbee2MqttResponder(endpoint, base) as bridge,
        running_dispatcher(database_url, mqtt_broker.url, _topics(topic_prefix, base), clock),
    ):
        command = _request(
            db, device_id, Kind.SILENCE, clock, requester=Requester(role="operator"),
            incident_id=incident_id, suspected_cause="steam",
        )  # fmt: skip
        done = wait_state(database_url, command["id"], "acknowledged")
    assert bridge.received[0] == (f"{base}/kitchen_smoke/set", b'{"silence":true}')
    assert done["parameters"] == {}  # the vendor does not say how long its silence lasts


def test_self_test_zigbee2mqtt_aqara_acknowledged_by_state(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    base = f"{topic_prefix}-z2m"
    device_id = _device(db, "aqara-jy-gz-01aq", "zigbee2mqtt", "0x54ef441000aa0001")
    clock = Clock()
    with (
        Zigbee2MqttResponder(parse_mqtt_url(mqtt_broker.url), base) as bridge,
        running_dispatcher(database_url, mqtt_broker.url, _topics(topic_prefix, base), clock),
    ):
        command = _request(db, device_id, Kind.SELF_TEST, clock)
        wait_state(database_url, command["id"], "acknowledged")
    assert orjson.loads(bridge.received[0][1]) == {"selftest": "selftest"}


def test_zigbee2mqtt_device_that_never_reports_expires(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    base = f"{topic_prefix}-z2m"
    device_id = _device(db, "xiaomi-jtyj-gd-01lm-bw", "zigbee2mqtt", "hallway")
    clock = Clock()
    with (
        Zigbee2MqttResponder(parse_mqtt_url(mqtt_broker.url), base, ignore=["hallway"]) as z2m,
        running_dispatcher(database_url, mqtt_broker.url, _topics(topic_prefix, base), clock),
    ):
        command = _request(db, device_id, Kind.SELF_TEST, clock)
        wait_until(lambda: len(z2m.received) == 1)
        clock.advance(hours=2)
        expired = wait_state(database_url, command["id"], "expired")
    assert orjson.loads(z2m.received[0][1]) == {"selftest": ""}
    assert expired["acknowledged_at"] is None


def test_set_heartbeat_chirpstack_netvox_acknowledged(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    base = f"{topic_prefix}-cs"
    app = "6f0e4b9c-7d1a-4b3e-9d52-1f0c2a7b8e11"
    device_id = _device(db, "netvox-ra02a", "chirpstack", "0004a30b001c0530")
    clock = Clock()
    with (
        ChirpStackResponder(parse_mqtt_url(mqtt_broker.url), base) as network_server,
        running_dispatcher(database_url, mqtt_broker.url, _topics(topic_prefix, base, app), clock),
    ):
        command = _request(db, device_id, Kind.SET_HEARTBEAT, clock,
                           parameters={"interval_s": 1800})  # fmt: skip
        done = wait_state(database_url, command["id"], "acknowledged")
    topic, payload = network_server.received[0]
    body = orjson.loads(payload)
    assert topic == f"{base}/{app}/device/0004a30b001c0530/command/down"
    assert body["devEui"] == "0004a30b001c0530" and body["confirmed"] is True
    assert body["fPort"] == 7
    # ra02a.js encodeDownlink ConfigReportReq: 0x01, 0x0A, MinTime, MaxTime (s), 0.1 V, 0 x4
    assert list(base64.b64decode(body["data"])) == [1, 10, 7, 8, 7, 8, 1, 0, 0, 0, 0]
    assert done["detail"]["f_cnt_down"] == 1


def test_chirpstack_without_application_id_fails_visibly(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    device_id = _device(db, "netvox-ra02a", "chirpstack", "0004a30b001c0531")
    clock = Clock()
    topics = _topics(topic_prefix, f"{topic_prefix}-cs", None)
    with running_dispatcher(database_url, mqtt_broker.url, topics, clock):
        command = _request(db, device_id, Kind.SET_HEARTBEAT, clock,
                           parameters={"interval_s": 3600})  # fmt: skip
        failed = wait_state(database_url, command["id"], "failed")
    assert failed["result"] == "undeliverable"
    assert "APPLICATION_ID" in failed["detail"]["error"]
