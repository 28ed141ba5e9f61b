"""zigbee2mqtt codec, case by case; the source of each case is named beside it."""

from __future__ import annotations

import pytest
from codec_support import NOW, events, reading, run

from core.codecs.types import GatewayStatus, Message
from core.codecs.zigbee2mqtt import Zigbee2MqttCodec
from core.domain import EventType as E
from core.errors import DecodeError
from core.records import Event

CODEC = Zigbee2MqttCodec()
TOPIC = "zigbee2mqtt/0x00158d0003467624"


# Each case: (source, model, sequence of state payloads, events per message).
# Payloads use the properties the source lists for the model ("exposes").
TRANSITION_CASES = [
    (
        # Koenkk/zigbee-herdsman-converters src/devices/heiman.ts HS1SA: fz.ias_smoke_alarm_1,
        # exposes smoke, battery_low, battery, test
        "HS1SA alarm then clear",
        [
            b'{"smoke":false,"battery_low":false,"battery":100,"test":false,"linkquality":87}',
            b'{"smoke":true,"battery_low":false,"battery":100,"test":false,"linkquality":87}',
            b'{"smoke":true,"battery_low":false,"battery":100,"test":false,"linkquality":90}',
            b'{"smoke":false,"battery_low":false,"battery":100,"test":false,"linkquality":90}',
        ],
        [[], [E.ALARM], [], [E.ALARM_CLEARED]],
    ),
    (
        # heiman.ts HS1SA: ias_smoke_alarm_1 sets test from IAS zone status bit 8 (Test): the
        # smoke bit during a test is the test siren, reported as TEST, never as a fire.
        "HS1SA test button",
        [
            b'{"smoke":false,"test":false,"battery":100}',
            b'{"smoke":true,"test":true,"battery":100}',
            b'{"smoke":false,"test":false,"battery":100}',
        ],
        [[], [E.TEST], []],
    ),
    (
        # Koenkk/zigbee-herdsman-converters src/devices/xiaomi.ts JTYJ-GD-01LM/BW: exposes smoke,
        # battery_low, tamper, battery, smoke_density, voltage, test, device_temperature
        "JTYJ-GD-01LM/BW tamper and battery",
        [
            b'{"smoke":false,"tamper":false,"battery_low":false,"battery":80,"voltage":3010,'
            b'"smoke_density":0,"device_temperature":24}',
            b'{"smoke":false,"tamper":true,"battery_low":false,"battery":80,"voltage":3010}',
            b'{"smoke":false,"tamper":false,"battery_low":true,"battery":5,"voltage":2860}',
            b'{"smoke":false,"tamper":false,"battery_low":false,"battery":100,"voltage":3100}',
        ],
        [[], [E.TAMPER], [E.TAMPER_CLEARED, E.LOW_BATTERY], [E.BATTERY_OK]],
    ),
    (
        # xiaomi.ts JY-GZ-01AQ: exposes smoke, smoke_density, test, buzzer_manual_mute, battery,
        # voltage; a manual mute during an alarm is reported as SILENCED.
        "JY-GZ-01AQ alarm and mute",
        [
            b'{"smoke":true,"smoke_density":6,"test":false,"buzzer_manual_mute":false,"battery":97}',
            b'{"smoke":true,"smoke_density":6,"test":false,"buzzer_manual_mute":true,"battery":97}',
        ],
        [[E.ALARM], [E.SILENCED]],
    ),
    (
        # Koenkk/zigbee2mqtt.io docs/devices/TS0205.md: smoke, battery_low, tamper, battery,
        # linkquality
        "TS0205",
        [b'{"smoke":true,"battery_low":false,"tamper":false,"battery":100,"linkquality":120}'],
        [[E.ALARM]],
    ),
    (
        # Koenkk/zigbee-herdsman-converters src/devices/onenuo.ts 288WZ (TS0601
        # _TZE204_kgaxpvxr): smoke_state alarm/normal/detecting/unknown alongside smoke
        "TS0601 smoke_state strings",
        [
            b'{"smoke_state":"normal","battery":90}',
            b'{"smoke_state":"detecting","battery":90}',
            b'{"smoke_state":"alarm","battery":90}',
            b'{"smoke_state":"normal","battery":90}',
        ],
        [[], [], [E.ALARM], [E.ALARM_CLEARED]],
    ),
    (
        # Koenkk/zigbee2mqtt.io docs/devices/TS0601_smoke_3.md: battery_state low/medium/high
        "TS0601_smoke_3 battery_state",
        [
            b'{"smoke":false,"battery_state":"high"}',
            b'{"smoke":false,"battery_state":"low"}',
            b'{"smoke":false,"battery_state":"medium"}',
        ],
        [[], [E.LOW_BATTERY], [E.BATTERY_OK]],
    ),
    (
        # Koenkk/zigbee2mqtt.io docs/devices/TS0601_smoke_5.md: fault_alarm, silence
        # and TS0601_smoke_2.md: device_fault
        "TS0601 faults",
        [
            b'{"smoke":false,"fault_alarm":true,"silence":false}',
            b'{"smoke":false,"fault_alarm":false,"silence":false}',
            b'{"smoke":false,"device_fault":true}',
        ],
        [[E.FAULT], [E.FAULT_CLEARED], [E.FAULT]],
    ),
    (
        # Koenkk/zigbee-herdsman-converters src/devices/develco.ts SMSZB-120: reliability
        # no_fault_detected/unreliable_other/process_error and fault
        "SMSZB-120 reliability",
        [
            b'{"smoke":false,"reliability":"no_fault_detected","fault":false,"temperature":21}',
            b'{"smoke":false,"reliability":"unreliable_other","fault":true,"temperature":21}',
        ],
        [[], [E.FAULT]],
    ),
    # --- Self-test (issue 17): commissioning needs the test event. ---------------------------
    (
        # zigbee-herdsman-converters src/lib/tuya.ts tuya.exposes.selfTest: binary self_test,
        # "Indicates whether the device is being self-tested" (TS0601 smoke variants)
        "TS0601 self_test boolean",
        [
            b'{"smoke":false,"self_test":false,"battery":100}',
            b'{"smoke":false,"self_test":true,"battery":100}',
            b'{"smoke":true,"self_test":true,"battery":100}',
            b'{"smoke":false,"self_test":false,"battery":100}',
            b'{"smoke":false,"self_test":true,"battery":100}',
        ],
        [[], [E.TEST], [], [], [E.TEST]],
    ),
    (
        # src/lib/tuya.ts tuya.exposes.selfTestResult: self_test_result checking/success/
        # failure/others (ONENUO 288WZ, src/devices/onenuo.ts, exposes selfTestResult)
        "TS0601 self_test_result",
        [
            b'{"smoke_state":"normal","self_test_result":"others"}',
            b'{"smoke_state":"normal","self_test_result":"checking"}',
            b'{"smoke_state":"normal","self_test_result":"success"}',
            b'{"smoke_state":"normal","self_test_result":"success","battery":80}',
            b'{"smoke_state":"normal","self_test_result":"failure"}',
            b'{"smoke_state":"normal","self_test_result":"checking"}',
            b'{"smoke_state":"normal","self_test_result":"success"}',
        ],
        [[], [E.TEST], [], [], [E.TEST, E.FAULT], [E.TEST], [E.FAULT_CLEARED]],
    ),
    (
        # src/devices/alecto.ts SMART-SMOKE10 (TS0601): self_checking (binary) and
        # checking_result checking/check_success/check_failure/others
        "Alecto SMART-SMOKE10 checking_result",
        [
            b'{"smoke_state":"normal","self_checking":false,"checking_result":"others"}',
            b'{"smoke_state":"normal","self_checking":true,"checking_result":"checking"}',
            b'{"smoke_state":"normal","self_checking":false,"checking_result":"check_failure"}',
        ],
        [[], [E.TEST], [E.FAULT]],
    ),
    (
        # src/devices/woox.ts R7049 (TS0601): test_alarm (binary) and test_alarm_result
        # checking/check_success/check_failure/others; a success we did not see start is a test
        "Woox R7049 test_alarm_result",
        [
            b'{"smoke":false,"test_alarm":false,"test_alarm_result":"others"}',
            b'{"smoke":false,"test_alarm":false,"test_alarm_result":"check_success"}',
        ],
        [[], [E.TEST]],
    ),
    (
        # Some firmware puts the result words in self_test itself (issue 17)
        "self_test enum words",
        [
            b'{"smoke":false,"self_test":"checking"}',
            b'{"smoke":false,"self_test":"check_success"}',
            b'{"smoke":false,"self_test":"check_failure"}',
        ],
        [[E.TEST], [], [E.TEST, E.FAULT]],
    ),
]


@pytest.mark.parametrize(("case", "sequence", "expected"), TRANSITION_CASES)
def test_decode_state_transitions(case: str, sequence: list[bytes], expected: list) -> None:
    results = run(CODEC, sequence, topic=TOPIC)
    assert [events(r) for r in results] == expected, case


def test_decode_repeated_alarm_emits_once() -> None:
    # zigbee2mqtt republishes the full state on every change (issue 6; mqtt_topics_and_messages):
    # a second state with smoke still true is no second alarm.
    first, second = run(CODEC, [b'{"smoke":true}', b'{"smoke":true,"battery":99}'], topic=TOPIC)
    assert events(first) == [E.ALARM]
    assert events(second) == []


def test_decode_unknown_previous_state_alarms_anyway() -> None:
    # No stored state (new device, lost state): a true flag is reported rather than missed.
    (result,) = run(CODEC, [b'{"smoke":true,"tamper":true}'], topic=TOPIC)
    assert events(result) == [E.ALARM, E.TAMPER]
    assert all(isinstance(r, Event) and r.source == "zigbee2mqtt" for r in result.records)


def test_decode_vendor_quirks_to_canonical_fields() -> None:
    # Capitalised keys and numbers as strings (issue 6 "vendor quirks"); voltage is mV and
    # linkquality is LQI, not dBm (zigbee2mqtt.io docs/devices/TS0601_smoke_2.md "lqi").
    (result,) = run(
        CODEC,
        [
            b'{"Smoke":"true","Battery":"85","voltage":"2950","linkquality":"120","temperature":21.5}'
        ],
        topic=TOPIC,
    )
    assert events(result) == [E.ALARM]
    values = reading(result)
    assert (values.battery_pct, values.battery_mv, values.temperature_c) == (85.0, 2950, 21.5)
    assert values.signal_dbm is None
    assert values.extra == {"linkquality": "120"}
    event = result.records[0]
    assert isinstance(event, Event)
    assert event.raw == {
        "Smoke": "true",
        "Battery": "85",
        "voltage": "2950",
        "linkquality": "120",
        "temperature": 21.5,
    }


def test_decode_out_of_range_battery_is_set_aside() -> None:
    (result,) = run(CODEC, [b'{"smoke":false,"battery":250}'], topic=TOPIC)
    values = reading(result)
    assert values.battery_pct is None
    assert values.extra is not None
    assert "battery" in values.extra["rejected_fields"]


def test_decode_friendly_name_with_slashes() -> None:
    # mqtt_topics_and_messages: "You can use the / separator in friendly_name".
    codec_topic = "zigbee2mqtt/building_3/kitchen/smoke"
    (result,) = run(CODEC, [b'{"smoke":false}'], topic=codec_topic)
    assert result.external_ids == ("building_3/kitchen/smoke",)
    assert result.records[0].device_id == "building_3/kitchen/smoke"


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        # zigbee2mqtt.io guide/configuration/device-availability.html: online/offline published
        # on <friendly_name>/availability; legacy plain text and the JSON {"state": ...} form.
        (b"online", True),
        (b"offline", False),
        (b'{"state":"online"}', True),
        (b'{"state":"offline"}', False),
    ],
)
def test_decode_availability_forms(payload: bytes, online: bool) -> None:
    message = Message(payload, NOW, "zigbee2mqtt/kitchen/smoke/availability")
    assert CODEC.identify(message) == ("kitchen/smoke",)
    result = CODEC.decode(message, {})
    assert events(result) == [E.ONLINE if online else E.OFFLINE]


def test_decode_availability_reports_changes_only() -> None:
    # device-availability.html: "this message is a retained MQTT message", so it comes again on
    # every reconnect; the state message's flags survive availability updates and vice versa.
    topic = "zigbee2mqtt/kitchen/smoke"
    states: dict = {}
    seen = []
    for suffix, body in [
        ("/availability", b"online"),
        ("", b'{"smoke":true}'),
        ("/availability", b'{"state":"online"}'),
        ("/availability", b"offline"),
        ("", b'{"smoke":true}'),
    ]:
        result = CODEC.decode(Message(body, NOW, topic + suffix), states)
        states.update(result.states)
        seen.append(events(result))
    assert seen == [[E.ONLINE], [E.ALARM], [], [E.OFFLINE], []]
    assert states["kitchen/smoke"] == {"online": False, "flags": {"alarm": True}}


@pytest.mark.parametrize(
    ("payload", "online"), [(b"online", True), (b'{"state":"offline"}', False)]
)
def test_decode_bridge_state(payload: bytes, online: bool) -> None:
    # mqtt_topics_and_messages: zigbee2mqtt/bridge/state
    result = CODEC.decode(Message(payload, NOW, "zigbee2mqtt/bridge/state"), {})
    assert result.gateway == GatewayStatus("zigbee2mqtt", online)
    assert result.records == ()


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/bridge/devices", "zigbee2mqtt/kitchen/set", "zigbee2mqtt/kitchen/set/state"],
)
def test_decode_ignores_non_device_topics(topic: str) -> None:
    result = CODEC.decode(Message(b'{"state":"ON"}', NOW, topic), {})
    assert result.records == ()
    assert CODEC.identify(Message(b"", NOW, topic)) == ()


@pytest.mark.parametrize(
    ("topic", "payload", "code"),
    [
        (TOPIC, b"not json", "bad_json"),
        (TOPIC, b"[1,2]", "not_an_object"),
        ("zigbee2mqtt/kitchen/availability", b"maybe", "bad_status"),
        ("other/kitchen", b"{}", "bad_topic"),
    ],
)
def test_decode_rejects_bad_input(topic: str, payload: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(Message(payload, NOW, topic), {})
    assert info.value.code == code


def test_decode_empty_availability_records_nothing() -> None:
    # zigbee2mqtt lib/extension/availability.ts (onEntityRenamed) clears the old name's
    # retained availability with an empty retained message: not an error, no device named.
    result = CODEC.decode(Message(b"", NOW, "zigbee2mqtt/kitchen/availability"), {})
    assert result.records == () and result.external_ids == () and result.note


@pytest.mark.parametrize(
    ("topic", "external_id"),
    [
        ("zigbee2mqtt/0x00158D0003467624", "0x00158d0003467624"),
        ("zigbee2mqtt/0x00158D0003467624/availability", "0x00158d0003467624"),
        ("zigbee2mqtt/Kitchen/Smoke", "Kitchen/Smoke"),
    ],
)
def test_identify_ieee_address_in_canonical_spelling(topic: str, external_id: str) -> None:
    assert CODEC.identify(Message(b"{}", NOW, topic)) == (external_id,)


def test_decode_garbage_state_counts_as_unknown() -> None:
    (result,) = run(
        CODEC, [b'{"smoke":true}'], topic=TOPIC, state={TOPIC[12:]: {"flags": "nonsense"}}
    )
    assert events(result) == [E.ALARM]


def test_decode_last_seen_is_event_time() -> None:
    # zigbee2mqtt can add last_seen (ISO 8601 or epoch ms) to every state message.
    (result,) = run(CODEC, [b'{"smoke":true,"last_seen":"2026-11-26T11:59:30+00:00"}'], topic=TOPIC)
    assert result.records[0].ts.isoformat() == "2026-11-26T11:59:30+00:00"
    assert result.records[0].received_at == NOW
