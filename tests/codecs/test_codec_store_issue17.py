"""Issue 17 through the codec store and a real PostgreSQL: low battery from a level with the
registered model's thresholds, Tuya self-test, empty availability, undecodable uplinks of a
registered device, Netvox firmware, the generic LoRaWAN model. Sources beside each case."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from psycopg.rows import dict_row

from core.codecs.registry import default_registry
from core.factory import create_device
from device_sim import formats
from ingest.codec_store import CodecStore
from ingest.inbound import Inbound

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
APP = "17c82e96-be03-4f38-aef3-f83d48582d97"


def inbound(codec: str, topic: str, payload: bytes, *, step: int = 0) -> Inbound:
    return Inbound(
        mid=0,
        generation=0,
        qos=0,
        topic=topic,
        payload=payload,
        received_at=T0 + timedelta(seconds=step),
        received_mono=time.monotonic(),
        retained=False,
        codec=codec,
    )


def register(url: str, device_id: str, model: str, codec: str, external_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        create_device(conn, device_id=device_id, model_code=model)
        conn.execute(
            "INSERT INTO device_identities (codec, external_id, device_id) VALUES (%s, %s, %s)",
            (codec, external_id, device_id),
        )


def write(url: str, messages: list[Inbound], *, one_by_one: bool = True) -> Any:
    store = CodecStore(url, default_registry())
    try:
        if not one_by_one:
            return store.write(messages)
        return [store.write([m]) for m in messages]
    finally:
        store.close()


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def event_types(url: str, device_id: str) -> list[str]:
    found = rows(url, "SELECT type FROM events WHERE device_id = %s ORDER BY ts, id", (device_id,))
    return [r["type"] for r in found if r["type"] != "online"]


def up(dev_eui: str, *, data: bytes | None = None, obj: dict | None = None, fport: int = 85,
       n: int = 0) -> tuple[str, bytes]:  # fmt: skip
    """A ChirpStack v4 ``up`` (chirpstack-docs src/chirpstack/integrations/events.md)."""
    body: dict[str, Any] = {
        "deduplicationId": f"00000000-0000-0000-0000-{n:012d}",
        "time": (T0 + timedelta(seconds=n)).isoformat(),
        "deviceInfo": {"applicationId": APP, "devEui": dev_eui},
        "fPort": fport,
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -96, "snr": 4.5}],
    }
    if data is not None:
        body["data"] = base64.b64encode(data).decode()
    if obj is not None:
        body["object"] = obj
    return f"application/{APP}/device/{dev_eui}/event/up", orjson.dumps(body)


# --- 1. low battery from a level ---------------------------------------------------------------


def aqara_state(battery: int, voltage: int) -> bytes:
    """Aqara JY-GZ-01AQ as zigbee2mqtt publishes it: zigbee-herdsman-converters
    src/devices/xiaomi.ts (fromZigbee lumi_specific + battery; exposes smoke, smoke_density,
    selftest, buzzer, battery, voltage, ...): a percentage and a voltage, no battery_low."""
    return orjson.dumps(
        {
            "smoke": False,
            "smoke_density": 0,
            "smoke_density_dbm": 0,
            "buzzer_manual_mute": False,
            "heartbeat_indicator": False,
            "linkage_alarm": False,
            "battery": battery,
            "voltage": voltage,
            "linkquality": 120,
        }
    )


def test_derive_low_battery_from_percent_with_hysteresis(database_url: str) -> None:
    name = "0x54ef441000a1b2c3"
    register(database_url, "NZ-AQ001", "aqara-jy-gz-01aq", "zigbee2mqtt", name)
    # Model thresholds (migration 0045): low at <= 20 %, fine again at >= 30 %.
    levels = [(55, 3010), (20, 2890), (21, 2895), (19, 2880), (29, 2950), (30, 2960), (25, 2930)]
    messages = [
        inbound("zigbee2mqtt", f"zigbee2mqtt/{name}", aqara_state(pct, mv), step=i)
        for i, (pct, mv) in enumerate(levels)
    ]
    write(database_url, messages)
    # 20 -> low; 21, 19, 29 wobble inside the band or stay low: nothing; 30 -> ok; 25: nothing.
    assert event_types(database_url, "NZ-AQ001") == ["low_battery", "battery_ok"]
    pending = rows(database_url, "SELECT type FROM pending_events WHERE device_id = 'NZ-AQ001'")
    assert [r["type"] for r in pending] == ["low_battery", "battery_ok"]
    state = rows(database_url, "SELECT battery_low, battery_pct FROM device_state "
                               "WHERE device_id = 'NZ-AQ001'")  # fmt: skip
    assert state == [{"battery_low": False, "battery_pct": 25.0}]


def test_level_low_wins_over_device_flag_that_says_fine(database_url: str) -> None:
    # Tuya TS0205 through zigbee2mqtt: fz.ias_smoke_alarm_1 reports battery_low from the IAS
    # zone bit, which some firmware never sets (zigbee2mqtt.io docs/devices/TS0205.md exposes
    # battery, battery_low); the level decides.
    name = "0xa4c138f1e2d3c4b5"
    register(database_url, "NZ-TS001", "tuya-ts0205", "zigbee2mqtt", name)
    messages = [
        inbound("zigbee2mqtt", *formats.zigbee_state(name, battery=b), step=i)
        for i, b in enumerate([60, 12, 12, 80])
    ]
    write(database_url, messages)
    assert event_types(database_url, "NZ-TS001") == ["low_battery", "battery_ok"]


def test_model_without_thresholds_keeps_its_own_flag(database_url: str) -> None:
    # Heiman HS1SA reports battery_low itself (src/devices/heiman.ts): no thresholds, so a low
    # percentage alone says nothing and the device's flag decides.
    name = "0x000d6f0011223344"
    register(database_url, "NZ-HM001", "heiman-hs1sa", "zigbee2mqtt", name)
    messages = [
        inbound("zigbee2mqtt", *formats.zigbee_state(name, battery=5), step=0),
        inbound("zigbee2mqtt", *formats.zigbee_state(name, battery=5, battery_low=True), step=1),
    ]
    write(database_url, messages)
    assert event_types(database_url, "NZ-HM001") == ["low_battery"]


def test_derive_low_battery_from_chirpstack_status_battery_level(database_url: str) -> None:
    # ChirpStack "status" event: batteryLevel in percent (chirpstack-docs integrations/events.md).
    eui = "a84041000181c0de"
    register(database_url, "NZ-LG001", "lorawan-generic-smoke", "chirpstack", eui)
    messages = [
        inbound("chirpstack", *formats.chirpstack_status(eui, battery_level=lvl), step=i)
        for i, lvl in enumerate([88.3, 14.5, 26.0, 31.5])
    ]
    write(database_url, messages)
    assert event_types(database_url, "NZ-LG001") == ["low_battery", "battery_ok"]


def test_derive_low_battery_from_decoder_volts_for_generic_lorawan(database_url: str) -> None:
    # A generic device-profile codec giving standard keys, battery in volts (the property
    # map reads battery_voltage <= 20 as volts): 2.55 V <= 2600 mV is low, 2.9 V is fine.
    eui = "a84041000181c0df"
    register(database_url, "NZ-LG002", "lorawan-generic-smoke", "chirpstack", eui)
    objects = [
        {"smoke": False, "battery_voltage": 3.0},
        {"smoke": False, "battery_voltage": 2.55},
        {"smoke": True, "battery_voltage": 2.62},
        {"smoke": False, "battery_voltage": 2.9},
    ]
    messages = [
        inbound("chirpstack", *up(eui, obj=o, n=i), step=i) for i, o in enumerate(objects)
    ]
    write(database_url, messages)
    assert event_types(database_url, "NZ-LG002") == [
        "low_battery",
        "alarm",
        "alarm_cleared",
        "battery_ok",
    ]


# --- 2. Tuya self-test --------------------------------------------------------------------------


def test_tuya_self_test_becomes_test_and_failure_a_fault(database_url: str) -> None:
    # tuya.exposes.selfTest (binary self_test) and selfTestResult (checking/success/failure/
    # others), zigbee-herdsman-converters src/lib/tuya.ts.
    name = "0xa4c1380123456789"
    register(database_url, "NZ-TY001", "tuya-ts0601-smoke", "zigbee2mqtt", name)
    base = {"smoke_state": "normal", "battery_state": "high", "battery": 100}
    bodies = [
        {**base, "self_test": False, "self_test_result": "others"},
        {**base, "self_test": True, "self_test_result": "checking"},
        {**base, "self_test": False, "self_test_result": "success"},
        {**base, "self_test": False, "self_test_result": "failure"},
    ]
    messages = [
        inbound("zigbee2mqtt", f"zigbee2mqtt/{name}", orjson.dumps(b), step=i)
        for i, b in enumerate(bodies)
    ]
    write(database_url, messages)
    assert event_types(database_url, "NZ-TY001") == ["test", "test", "fault"]


# --- 3. empty retained availability -----------------------------------------------------------


def test_empty_retained_availability_is_no_dead_letter(database_url: str) -> None:
    # zigbee2mqtt lib/extension/availability.ts, onEntityRenamed: publish(`${from}/availability`,
    # '', {retain: true}) clears the old name's retained availability.
    register(database_url, "NZ-AV001", "heiman-hs1sa", "zigbee2mqtt", "kitchen/smoke")
    result = write(
        database_url,
        [inbound("zigbee2mqtt", "zigbee2mqtt/kitchen/smoke/availability", b"")],
        one_by_one=False,
    )
    assert result.dead_letters == [] and result.events == 0
    assert rows(database_url, "SELECT id FROM dead_letters") == []
    assert rows(database_url, "SELECT external_id FROM unregistered_devices") == []


# --- 4. undecodable uplink of a registered device -------------------------------------------


def test_undecodable_uplink_names_device_and_counts_as_life(database_url: str) -> None:
    eui = "24e124538b223213"
    register(database_url, "NZ-GS001", "milesight-gs524n", "chirpstack", eui)
    frame = bytes([0x01, 0x02, 0x03])  # no GS524N (6 bytes) nor RA02A (fPort 6) shape
    result = write(
        database_url,
        [
            inbound("chirpstack", *up(eui, data=frame, n=1), step=1),
            inbound("chirpstack", *up("0000000000000bad", data=frame, n=2), step=2),
        ],
        one_by_one=False,
    )
    assert [d.reason_code for d in result.dead_letters] == ["unknown_payload", "unknown_payload"]
    letters = rows(database_url, "SELECT device_id, reason_code FROM dead_letters ORDER BY id")
    assert letters == [
        {"device_id": "NZ-GS001", "reason_code": "unknown_payload"},
        {"device_id": None, "reason_code": "unknown_payload"},
    ]
    state = rows(database_url, "SELECT last_seen, online FROM device_state "
                               "WHERE device_id = 'NZ-GS001'")  # fmt: skip
    assert state == [{"last_seen": T0 + timedelta(seconds=1), "online": True}]
    kept = rows(database_url, "SELECT extra FROM readings WHERE device_id = 'NZ-GS001'")
    assert kept[0]["extra"]["undecoded"] == "unknown_payload"


# --- 6 and 9. generic LoRaWAN model; Netvox firmware ------------------------------------------


def test_netvox_version_report_sets_firmware_in_device_state(database_url: str) -> None:
    # lorawan-devices vendor/netvox/payload/ra02a.js: fPort 6, byte 2 = 0x00 is the version
    # report: SWver = byte 3 / 10, HWver = byte 4, Datecode = bytes 5..8 in hex.
    eui = "00137a1000012345"
    register(database_url, "NZ-NV001", "netvox-ra02a", "chirpstack", eui)
    version = bytes([0x01, 0x0A, 0x00, 0x0B, 0x02, 0x20, 0x20, 0x05, 0x07, 0x00, 0x00])
    write(database_url, [inbound("chirpstack", *up(eui, data=version, fport=6, n=1), step=1)])
    state = rows(database_url, "SELECT firmware FROM device_state WHERE device_id = 'NZ-NV001'")
    assert state == [{"firmware": "1.1"}]


def test_netvox_decoder_version_object_sets_firmware(database_url: str) -> None:
    # The same report decoded by Netvox' decoder in ChirpStack: {"Device": "RA02A", "SWver": 1.1,
    # "HWver": 2, "Datecode": "20200507"} (ra02a.js decodeUplink, fPort 6, bytes[2] === 0x00).
    eui = "00137a1000012346"
    register(database_url, "NZ-NV002", "netvox-ra02a", "chirpstack", eui)
    obj = {"Device": "RA02A", "SWver": 1.1, "HWver": 2, "Datecode": "20200507"}
    write(database_url, [inbound("chirpstack", *up(eui, obj=obj, fport=6, n=1), step=1)])
    state = rows(database_url, "SELECT firmware FROM device_state WHERE device_id = 'NZ-NV002'")
    assert state == [{"firmware": "1.1"}]
    assert event_types(database_url, "NZ-NV002") == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"alarm": True, "battery": 90}, ["alarm"]),
        ({"smoke": 1, "tamper": 1, "battery": 90}, ["alarm", "tamper"]),
        ({"fault": True, "battery": 90}, ["fault"]),
        ({"test": True, "smoke": True, "battery": 90}, ["test"]),
    ],
)
def test_generic_lorawan_model_decodes_standard_keys(
    database_url: str, obj: dict, expected: list[str]
) -> None:
    eui = "a84041000181c0e0"
    register(database_url, "NZ-LG003", "lorawan-generic-smoke", "chirpstack", eui)
    write(database_url, [inbound("chirpstack", *up(eui, obj=obj, n=1), step=1)])
    assert event_types(database_url, "NZ-LG003") == expected
