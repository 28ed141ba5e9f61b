"""ChirpStack codec and the GS524N / RA02A payload decoders; sources named beside each case."""

from __future__ import annotations

import base64

import orjson
import pytest
from codec_support import NOW, events, reading, run

from core.codecs import lora_payloads as lp
from core.codecs.chirpstack import ChirpStackCodec
from core.codecs.types import Message
from core.domain import EventType as E
from core.errors import DecodeError
from core.records import Event, Reading

CODEC = ChirpStackCodec()
EUI = "0101010101010101"
UP = f"application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{EUI}/event/up"


def gs524n(message_type: int, battery: int = 100, conc: int = 0, temp: int = 28) -> bytes:
    """A GS524N frame per Milesight-IoT/SensorDecoders GS_Series/GS524N/README.md: the six
    bytes sum to 0 mod 256 (byte 6 is the checksum)."""
    head = bytes([0x22, 0x10 | message_type, battery, conc, temp & 0xFF])
    return head + bytes([(-sum(head)) % 256])


def v4_up(data: bytes | None = None, obj: dict | None = None, fport: int = 85) -> bytes:
    """The v4 "up" JSON example of chirpstack/chirpstack-docs src/chirpstack/integrations/
    events.md, with our payload (it omits fCnt: zero is a Protobuf default)."""
    body: dict = {
        "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
        "time": "2026-11-26T11:59:15.775023242+00:00",
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
            "deviceName": "Test device",
            "devEui": EUI,
            "tags": {"key": "value"},
        },
        "devAddr": "00189440",
        "dr": 1,
        "fPort": fport,
        "rxInfo": [
            {"gatewayId": "0016c001f153a14c", "rssi": -36, "snr": 10.5},
            {"gatewayId": "0016c001f153a14d", "rssi": -101, "snr": -3},
        ],
    }
    if data is not None:
        body["data"] = base64.b64encode(data).decode()
    if obj is not None:
        body["object"] = obj
    return orjson.dumps(body)


# --- payload decoders -------------------------------------------------------------------------


def test_decode_gs524n_readme_sample() -> None:
    # Milesight-IoT/SensorDecoders GS_Series/GS524N/README.md sample 221E64001C40
    frame = lp.decode_gs524n(bytes.fromhex("221E64001C40"))
    assert frame == lp.Gs524nFrame(2, 2, 1, 14, 100, 0, 28)
    assert frame.event == "testing alarm with normal battery"


def test_decode_gs524n_negative_temperature() -> None:
    # GS_Series/GS524N/GS524N_Decoder.js reads the temperature as signed int8
    assert lp.decode_gs524n(gs524n(7, temp=-10)).temperature_c == -10


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (bytes.fromhex("221E64001C41"), "bad_checksum"),  # README: bytes sum to 0x00
        (bytes.fromhex("221E64001C"), "bad_payload"),  # README: 6 bytes
        (bytes([0x22, 0x21, 0, 0, 0, 0xBD]), "bad_payload"),  # sensor type 2 is not smoke
        (gs524n(3), "bad_payload"),  # message type 3 is not defined
    ],
)
def test_decode_gs524n_rejects(data: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        lp.decode_gs524n(data)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # TheThingsNetwork/lorawan-devices vendor/netvox/payload/ra02a.js, fPort 6: byte 3 volts
        # x10 with bit 7 = low battery, byte 4 fire alarm, byte 5 high temperature, bytes 6-7
        # temperature x10 (signed).
        (
            bytes.fromhex("010A011E010000E1000000"),
            lp.Ra02aFrame(1, 1, 3000, False, True, False, 22.5),
        ),
        (
            bytes.fromhex("010A019A0001FF9C000000"),
            lp.Ra02aFrame(1, 1, 2600, True, False, True, -10.0),
        ),
        # report type 0x00: version report (SWver byte 3 / 10, HWver byte 4, date code bytes 5-8)
        (bytes.fromhex("010A000B0120210630000000"), lp.Ra02aVersion(1.1, 1, "20210630")),
    ],
)
def test_decode_ra02a(data: bytes, expected: object) -> None:
    assert lp.decode_ra02a(6, data) == expected


@pytest.mark.parametrize(
    ("fport", "data"),
    [
        (7, bytes.fromhex("010A011E010000E1000000")),
        (6, bytes.fromhex("0111011E0100")),
        (6, bytes.fromhex("010A01")),
    ],
)
def test_decode_ra02a_rejects(fport: int, data: bytes) -> None:
    with pytest.raises(DecodeError):
        lp.decode_ra02a(fport, data)


# --- the integration events -------------------------------------------------------------------

GS524N_CASES = [
    # (message type per GS524N README, events)
    ([1], [[E.ALARM]]),
    ([1, 1], [[E.ALARM], [E.ALARM]]),  # every alarm message is an alarm (event-style frame)
    ([1, 7], [[E.ALARM], [E.ALARM_CLEARED]]),
    ([1, 2], [[E.ALARM], [E.SILENCED]]),
    ([4, 7], [[E.LOW_BATTERY], [E.BATTERY_OK]]),
    ([5, 7], [[E.FAULT], [E.FAULT_CLEARED]]),
    ([10, 11], [[E.TAMPER], [E.TAMPER_CLEARED]]),
    ([14], [[E.TEST]]),
    ([15], [[E.LOW_BATTERY, E.TEST]]),
    ([7], [[]]),
]


@pytest.mark.parametrize(("types", "expected"), GS524N_CASES)
def test_decode_gs524n_uplinks(types: list[int], expected: list) -> None:
    results = run(CODEC, [v4_up(gs524n(t)) for t in types], topic=UP)
    assert [events(r) for r in results] == expected


def test_decode_v4_up_fields() -> None:
    (result,) = run(CODEC, [v4_up(gs524n(1, battery=87, temp=24))], topic=UP)
    assert result.external_ids == (EUI,)
    event = result.records[0]
    assert isinstance(event, Event)
    assert event.ts.isoformat() == "2026-11-26T11:59:15.775023+00:00"  # body "time"
    values = reading(result)
    assert (values.battery_pct, values.temperature_c, values.signal_dbm) == (87.0, 24.0, -36)
    assert values.extra is not None
    assert values.extra["f_cnt"] == 0  # omitted in the docs example: Protobuf default
    assert values.extra["decoded_by"] == "smokewatch"


def test_decode_ra02a_uplinks_by_transition() -> None:
    # ra02a.js: FireAlarm is a state in every periodic report, so alarms come from transitions.
    frames = [
        "010A011E000000E1000000",
        "010A011E010000E1000000",
        "010A011E010000E1000000",
        "010A011E000100E1000000",
        "010A019A000000E1000000",
    ]
    results = run(CODEC, [v4_up(bytes.fromhex(f), fport=6) for f in frames], topic=UP)
    assert [events(r) for r in results] == [
        [],
        [E.ALARM],
        [],
        [E.ALARM_CLEARED, E.HIGH_TEMPERATURE],
        [E.LOW_BATTERY],
    ]
    assert reading(results[0]).battery_mv == 3000


def test_decode_milesight_decoder_object() -> None:
    # GS_Series/GS524N/README.md sample output of Milesight's own decoder, as "object"
    obj = {
        "version": 2,
        "protocol": 2,
        "type": "smoke sensor",
        "battery": 100,
        "concentration": 0,
        "temperature": 28,
        "event": "testing alarm with normal battery",
    }
    (result,) = run(CODEC, [v4_up(gs524n(7), obj=obj)], topic=UP)
    assert events(result) == [E.TEST]  # the object wins over data
    assert reading(result).extra["decoded_by"] == "network_server"


def test_decode_netvox_decoder_object_low_battery_string() -> None:
    # ra02a.js writes Volt as a string "2.6(low battery)" when bit 7 is set: a number that
    # becomes a string on low battery.
    obj = {
        "Device": "RA02A",
        "Volt": "2.6(low battery)",
        "FireAlarm": "Alarm",
        "HighTempAlarm": "No Alarm",
        "Temp": 22.5,
    }
    (result,) = run(CODEC, [v4_up(obj=obj, fport=6)], topic=UP)
    assert events(result) == [E.ALARM, E.LOW_BATTERY]
    assert reading(result).battery_mv == 2600


def test_decode_v4_status_example() -> None:
    # chirpstack-docs events.md "status" example: margin 10, batteryLevel 88.3
    body = {
        "deduplicationId": "bf2a9746-1c8b-49be-a92e-f0b89c8534e4",
        "time": "2026-11-26T11:35:06.927172638+00:00",
        "deviceInfo": {"devEui": EUI},
        "margin": 10,
        "batteryLevel": 88.3,
    }
    (result,) = run(CODEC, [orjson.dumps(body)], topic=UP.replace("/up", "/status"))
    (record,) = result.records
    assert isinstance(record, Reading)
    assert record.battery_pct == pytest.approx(88.3)
    assert record.extra is not None
    assert record.extra["margin"] == 10


@pytest.mark.parametrize(
    ("body", "battery", "flag"),
    [
        # Protobuf JSON omits defaults: no margin, no batteryLevel means 0.
        ({"deviceInfo": {"devEui": EUI}}, 0.0, None),
        ({"externalPowerSource": True}, None, "external_power"),
        ({"batteryLevelUnavailable": True}, None, "battery_unavailable"),
    ],
)
def test_decode_status_defaults(body: dict, battery: float | None, flag: str | None) -> None:
    (result,) = run(CODEC, [orjson.dumps(body)], topic=UP.replace("/up", "/status"))
    record = result.records[0]
    assert isinstance(record, Reading)
    assert record.battery_pct == battery
    assert record.extra is not None
    assert record.extra["margin"] == 0
    if flag:
        assert record.extra[flag] is True


def test_decode_v4_join_example() -> None:
    # chirpstack-docs events.md "join" example
    body = {
        "deduplicationId": "c9dbe358-2578-4fb7-b295-66b44edc45a6",
        "time": "2026-11-26T11:33:28.823500726+00:00",
        "deviceInfo": {"devEui": EUI},
        "devAddr": "00189440",
    }
    (result,) = run(CODEC, [orjson.dumps(body)], topic=UP.replace("/up", "/join"))
    record = result.records[0]
    assert isinstance(record, Reading)
    assert record.extra is not None
    assert record.extra["dev_addr"] == "00189440"


def test_decode_v3_json_forms() -> None:
    # brocaar/chirpstack-docs docs/application-server/integrations/events.md: "JSON" marshaler,
    # devEUI base64 ("AgICAgICAgI=" is 0202020202020202), objectJSON a string.
    eui = "0202020202020202"
    body = {
        "applicationID": "123",
        "deviceName": "garden-sensor",
        "devEUI": "AgICAgICAgI=",
        "rxInfo": [{"time": "2026-11-26T11:59:25.048445Z", "rssi": -48, "loRaSNR": 9}],
        "adr": True,
        "dr": 1,
        "fCnt": 10,
        "fPort": 6,
        "data": base64.b64encode(bytes.fromhex("010A011E010000E1000000")).decode(),
        "objectJSON": "",
    }
    (result,) = run(CODEC, [orjson.dumps(body)], topic=f"application/123/device/{eui}/event/up")
    assert events(result) == [E.ALARM]
    assert result.records[0].ts.isoformat() == "2026-11-26T11:59:25.048445+00:00"
    status = {
        "applicationID": "123",
        "devEUI": "AgICAgICAgI=",
        "margin": 6,
        "externalPowerSource": False,
        "batteryLevelUnavailable": False,
        "batteryLevel": 75.5,
    }
    status_topic = f"application/123/device/{eui}/event/status"
    (result,) = run(CODEC, [orjson.dumps(status)], topic=status_topic)
    assert reading(result).battery_pct == 75.5


def test_decode_ignores_other_events() -> None:
    topic = UP.replace("/up", "/txack")
    assert CODEC.decode(Message(b"{}", NOW, topic), {}).records == ()


@pytest.mark.parametrize(
    ("topic", "body", "code"),
    [
        (UP, v4_up(bytes([1, 2, 3])), "unknown_payload"),
        (UP.replace(EUI, "zz"), v4_up(gs524n(1)), "bad_device_id"),
        ("application/x/device", b"{}", "bad_topic"),
        (UP, v4_up(gs524n(1)).replace(EUI.encode(), b"0303030303030303"), "identity_mismatch"),
        (UP, b'{"data": "%%%"}', "bad_base64"),
    ],
)
def test_decode_rejects_bad_input(topic: str, body: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(Message(body, NOW, topic), {})
    assert info.value.code == code
