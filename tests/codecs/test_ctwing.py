"""CTWing/AEP push codec; each case names where its body comes from.

Sources: the CTWing subscription-push field tables ("订阅推送": dataReport, eventReport,
deviceOnlineOfflineReport, commandResponse) and bodies captured by public CTWing integrations,
quoted in their code comments (docs/devices.md lists them).
"""

from __future__ import annotations

import orjson
import pytest
from codec_support import NOW, events, reading, run

from core.codecs.ctwing import CtwingCodec
from core.codecs.thing_model import PropertyMap
from core.codecs.types import Message
from core.domain import EventType as E
from core.errors import DecodeError
from core.records import Reading

CODEC = CtwingCodec()
DEVICE = "d01308047f864601a821e02dc328eab4"

# CTWing push field table, "数据上报" example (decoded payload, upPacketSN -1 = absent)
DATA_REPORT_DOC = {
    "upPacketSN": -1,
    "upDataSN": -1,
    "topic": "v1/up/ad19",
    "timestamp": 1795694340000,
    "tenantId": "2000033827",
    "serviceId": 10,
    "protocol": "lwm2m",
    "productId": "15045240",
    "payload": {"time": 1795694339000, "longitude": -174, "latitude": -86},
    "messageType": "dataReport",
    "deviceType": "",
    "deviceId": DEVICE,
    "assocAssetId": "",
    "IMSI": "undefined",
    "IMEI": "161941770261953",
}
# CTWing push field table, "事件上报" example: low battery (低电量), eventType 2 (warning)
EVENT_LOW_BATTERY_DOC = {
    "timestamp": 1795694340000,
    "tenantId": "2000033827",
    "serviceId": 1002,
    "protocol": "lwm2m",
    "productId": "15045240",
    "messageType": "eventReport",
    "eventType": 2,
    "eventContent": {"battery_voltage": 1, "battery_state": 1},
    "deviceSn": "",
    "deviceId": DEVICE,
    "IMSI": "undefined",
    "IMEI": "161941770261953",
}


def body(**changes: object) -> bytes:
    return orjson.dumps({**DATA_REPORT_DOC, **changes})


def test_decode_data_report_doc_example() -> None:
    (result,) = run(CODEC, [body()])
    (record,) = result.records
    assert isinstance(record, Reading)
    assert record.device_id == DEVICE
    assert record.ts.isoformat() == "2026-11-26T11:59:00+00:00"  # body timestamp (ms)
    assert record.extra is not None
    assert record.extra["imei"] == "161941770261953"
    assert "imsi" not in record.extra  # "undefined" is CTWing's empty value
    assert result.dedupe_key is not None and ":hash:" in result.dedupe_key  # upPacketSN -1


@pytest.mark.parametrize(("sn", "key"), [(17, f"ctwing:{DEVICE}:sn:17"), ("", None), (-1, None)])
def test_decode_dedupe_on_sequence_number(sn: object, key: str | None) -> None:
    (result,) = run(CODEC, [body(upPacketSN=sn)])
    if key is None:
        assert result.dedupe_key is not None and ":hash:" in result.dedupe_key
    else:
        assert result.dedupe_key == key


def test_decode_same_body_same_dedupe_key() -> None:
    first, second = run(CODEC, [body(), body()])
    assert first.dedupe_key == second.dedupe_key
    assert first.records[0].msg_key == second.records[0].msg_key


def test_decode_lwm2m_service_data() -> None:
    # Body quoted in a public CTWing smoke-detector integration (LiAnSmokeParseStrategy):
    # payload {"serviceId": "notification", "serviceData": {...}} with Battery_Level (percent)
    payload = {
        "serviceId": "notification",
        "serviceData": {
            "TData": 30,
            "SNR": 1,
            "RSRP": 114,
            "IMEI": "860374051096202",
            "Cell_ID": "38848339",
            "CSQ": 5,
            "Battery_Level": 100,
            "Alarm_Status": 2,
            "AlarmLevel": 100,
        },
    }
    (result,) = run(CODEC, [body(payload=payload, topic="v1/up/ad19prof")])
    values = reading(result)
    assert values.battery_pct == 100.0
    assert values.extra is not None
    # Alarm_Status codes are vendor-specific: kept, not guessed (configure a PropertyMap).
    assert values.extra["properties"]["alarm_status"] == 2


def test_decode_transparent_json_appdata() -> None:
    # Body quoted in a public CTWing integration (InfotransParseStrategy): APPdata is base64 of
    # a JSON object.
    appdata = (
        "ewogICAiYiIgOiBbCiAgICAgIHsKICAgICAgICAgImlkIiA6ICIyMjIiLAogICAgICAgICAidiIgOiAiMSIKICAg"
        "ICAgfQogICBdLAogICAiYyIgOiAyNywKICAgImlkIiA6IDE2MDkyMzEyMDk3NjcsCiAgICJ0bSIgOiAxNjA5MjMx"
        "MjA5NzY3Cn0="
    )
    (result,) = run(CODEC, [body(payload={"APPdata": appdata}, protocol="tcp")])
    values = reading(result)
    assert values.extra is not None
    assert values.extra["transparent"] is True
    assert values.extra["properties"]["c"] == 27


def test_decode_transparent_binary_is_refused() -> None:
    # Body quoted in a public CTWing integration test (/cwting/callback): binary APPdata. With no
    # vendor decoder it must not look like a healthy heartbeat: dead letter.
    appdata = "AQFWMS4wAAAAACMAAAAH/wAlODYyNTkyMDUxNjUxNDcyAAEAMjUAODAAAAAAAAABAQAAAAEAAASD"
    with pytest.raises(DecodeError) as info:
        run(CODEC, [body(payload={"APPdata": appdata})])
    assert info.value.code == "opaque_payload"


def test_decode_event_report_low_battery_doc_example() -> None:
    (result,) = run(CODEC, [orjson.dumps(EVENT_LOW_BATTERY_DOC)])
    assert events(result) == [E.LOW_BATTERY]
    assert reading(result).battery_mv == 1000  # battery_voltage 1 (volts)


def test_decode_event_report_repeats_are_reported() -> None:
    # eventReport is an event, not a state: a second report is a second event.
    first, second = run(CODEC, [orjson.dumps(EVENT_LOW_BATTERY_DOC)] * 2)
    assert events(first) == events(second) == [E.LOW_BATTERY]


@pytest.mark.parametrize(
    ("event_type", "content", "expected"),
    [
        (3, {"vendor_code": 7}, [E.FAULT]),  # eventType 3 = 故障 (fault) per the field table
        (1, {"vendor_code": 7}, []),  # 1 = 信息 (info)
        (2, {"smoke_alarm": 1}, [E.ALARM]),
    ],
)
def test_decode_event_report_levels(event_type: int, content: dict, expected: list) -> None:
    doc = {**EVENT_LOW_BATTERY_DOC, "eventType": event_type, "eventContent": content}
    (result,) = run(CODEC, [orjson.dumps(doc)])
    assert events(result) == expected


def test_decode_unmapped_warning_is_refused() -> None:
    # A warning (eventType 2) covers fire and low battery alike: never guess which.
    doc = {**EVENT_LOW_BATTERY_DOC, "eventContent": {"vendor_code": 7}}
    with pytest.raises(DecodeError) as info:
        run(CODEC, [orjson.dumps(doc)])
    assert info.value.code == "unmapped_event"


@pytest.mark.parametrize(("event_type", "expected"), [(1, E.ONLINE), (0, E.OFFLINE)])
def test_decode_online_offline_doc_example(event_type: int, expected: E) -> None:
    # CTWing field table, "上线" example: eventType 1 online, 0 offline
    doc = {
        "timestamp": 1795694340000,
        "tenantId": "2000033827",
        "protocol": "lwm2m",
        "productId": "15045240",
        "messageType": "deviceOnlineOfflineReport",
        "iccid": "undefined",
        "eventType": event_type,
        "deviceId": DEVICE,
    }
    (result,) = run(CODEC, [orjson.dumps(doc)])
    assert events(result) == [expected]


def test_decode_command_response_has_no_device_record() -> None:
    # Body quoted in a public CTWing integration (WaterController): platform receipt.
    doc = {
        "timestamp": 1795694340000,
        "tenantId": "10461180",
        "taskId": 1,
        "result": {"resultDetail": "", "resultCode": "DELIVERED"},
        "protocol": "lwm2m",
        "productId": "10053421",
        "messageType": "commandResponse",
        "deviceId": DEVICE,
    }
    (result,) = run(CODEC, [orjson.dumps(doc)])
    assert result.records == ()
    assert result.note == "command 1 DELIVERED"


def test_decode_reference_properties_by_transition() -> None:
    # Our reference property names (thing_model.DEFAULT_MAP), as a product thing model would
    # carry them.
    results = run(
        CODEC,
        [
            body(payload={"smoke_alarm": 1, "battery": 80}),
            body(payload={"smoke_alarm": 1, "battery": 80}),
            body(payload={"smoke_alarm": 0, "battery": 79}),
        ],
    )
    assert [events(r) for r in results] == [[E.ALARM], [], [E.ALARM_CLEARED]]


def test_decode_product_property_map() -> None:
    codec = CtwingCodec(product_maps={"15045240": PropertyMap(alarm=("yg_state",))})
    (result,) = run(codec, [body(payload={"YG_State": "1"})])
    assert events(result) == [E.ALARM]
    (other,) = run(CODEC, [body(payload={"YG_State": "1"})])
    assert events(other) == []


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        ({**DATA_REPORT_DOC, "deviceId": 5}, "missing_device_id"),
        ({**DATA_REPORT_DOC, "messageType": "dataReportTupUnion"}, "unsupported_message"),
        ({**DATA_REPORT_DOC, "payload": [1]}, "bad_payload"),
        ({**DATA_REPORT_DOC, "payload": {"APPdata": "@@"}}, "bad_base64"),
    ],
)
def test_decode_rejects_bad_input(doc: dict, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(Message(orjson.dumps(doc), NOW), {})
    assert info.value.code == code
