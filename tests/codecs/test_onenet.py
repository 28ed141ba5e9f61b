"""OneNET push codec: URL verification, signatures, current and legacy bodies.

Sources: OneNET "数据推送" (http_push.md) and "消息源格式" (rule_data_new.md) as mirrored in
warrlon/warrlon iotgz-docs/subbook/iot_platform/book/application-develop/push/; China Mobile's
receiver SDK cm-heclouds/data-push (JAVA/.../Util.java, PHP/util.php).
"""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest
from codec_support import NOW, events, reading

from core.codecs.onenet import OneNetCodec, signature
from core.codecs.types import Decoded, Message
from core.domain import EventType as E
from core.errors import DecodeError
from core.records import Event, Reading

TOKEN = "abcdefghijkmlnopqrstuvwxyz"  # the placeholder token of the SDK's ReceiverDemo.java
NONCE = "abcdefgh"  # 8 characters: Util.java copies exactly 8 nonce bytes
CODEC = OneNetCodec(token=TOKEN)

# rule_data_new.md examples (device lifecycle, property notify, event notify)
LIFECYCLE = {
    "productId": "C6z4Zk012B",
    "deviceId": 1343759,
    "deviceName": "test01",
    "messageType": "lifeCycle",
    "data": {"status": "online", "time": 1795694339000},
}
PROPERTY = {
    "productId": "C6z4Zk012B",
    "deviceId": 1343759,
    "deviceName": "test01",
    "messageType": "notify",
    "notifyType": "property",
    "data": {
        "id": "1631522002438",
        "version": "1.0",
        "params": {
            "boolean": {"time": 1795694339499, "value": True},
            "enum": {"time": 1795694339527, "value": 2},
            "float": {"time": 1795694339527, "value": 1.11},
            "int32": {"time": 1795694339543, "value": 12},
        },
    },
}
EVENT = {
    "productId": "C6z4Zk012B",
    "deviceId": 1343759,
    "deviceName": "test01",
    "messageType": "notify",
    "notifyType": "event",
    "data": {
        "id": "1631522157984",
        "version": "1.0",
        "params": {
            "event1": {"eventType": "info", "time": 1795694339068, "value": {"response": 12}}
        },
    },
}


def test_signature_is_base64_md5_of_token_nonce_msg() -> None:
    # http_push.md "实例验证": A = token + nonce + msg, B = md5(A), C = base64(B)
    expected = base64.b64encode(hashlib.md5(b"tok" + b"12345678" + b"hello").digest()).decode()
    assert signature("tok", "12345678", "hello") == expected


def push(inner: dict, *, push_id: str = "3799902", token: str = TOKEN) -> bytes:
    """http_push.md "消息推送" body: msg is a JSON string, plus nonce, signature, time, id."""
    msg = orjson.dumps(inner).decode()
    return orjson.dumps(
        {
            "msg": msg,
            "nonce": NONCE,
            "signature": signature(token, NONCE, msg),
            "time": 1795694340000,
            "id": push_id,
        }
    )


def decode(body: bytes, codec: OneNetCodec = CODEC) -> Decoded:
    message = Message(body, NOW)
    return codec.decode(message, {i: {} for i in codec.identify(message)})


def test_decode_url_verification_echoes_msg() -> None:
    # http_push.md: GET url?msg=xxx&nonce=xxx&signature=xxx; answer msg verbatim
    query = {"msg": "kYWqfXzM", "nonce": NONCE, "signature": signature(TOKEN, NONCE, "kYWqfXzM")}
    result = CODEC.decode(Message(b"", NOW, method="GET", query=query), {})
    assert result.reply == b"kYWqfXzM"
    assert result.records == ()


def test_decode_url_verification_tolerates_url_decoding() -> None:
    # Util.java checkToken: signature.replace(' ', '+'); PHP util trims '=' padding
    sig = signature(TOKEN, NONCE, "m").replace("+", " ").rstrip("=")
    query = {"msg": "m", "nonce": NONCE, "signature": sig}
    assert CODEC.decode(Message(b"", NOW, method="GET", query=query), {}).reply == b"m"


def test_decode_url_verification_rejects_bad_signature() -> None:
    query = {"msg": "m", "nonce": NONCE, "signature": "bm90IHRoZSBzaWduYXR1cmU="}
    with pytest.raises(DecodeError) as info:
        CODEC.decode(Message(b"", NOW, method="GET", query=query), {})
    assert info.value.code == "bad_signature"


def test_decode_lifecycle() -> None:
    result = decode(push(LIFECYCLE))
    assert events(result) == [E.ONLINE]
    assert result.external_ids == ("C6z4Zk012B/test01",)
    assert result.dedupe_key == "onenet:id:3799902"
    offline = {**LIFECYCLE, "data": {"status": "offline", "time": 1795694339000}}
    assert events(decode(push(offline))) == [E.OFFLINE]


def test_decode_property_notify_example() -> None:
    result = decode(push(PROPERTY))
    (record,) = result.records
    assert isinstance(record, Reading)
    assert record.ts.isoformat() == "2026-11-26T11:58:59.543000+00:00"  # latest property time
    assert record.extra is not None
    assert record.extra["properties"]["int32"] == 12


def test_decode_property_notify_transitions() -> None:
    def smoke(value: int) -> dict:
        return {
            **PROPERTY,
            "data": {
                "id": "1",
                "params": {
                    "smoke_alarm": {"time": 1795694339000, "value": value},
                    "battery": {"time": 1795694339000, "value": 77},
                },
            },
        }

    states: dict = {}
    seen = []
    for value in (0, 1, 1, 0):
        message = Message(push(smoke(value)), NOW)
        result = CODEC.decode(message, states)
        states.update(result.states)
        seen.append(events(result))
    assert seen == [[], [E.ALARM], [], [E.ALARM_CLEARED]]


def test_decode_event_notify() -> None:
    assert [type(r) for r in decode(push(EVENT)).records] == [Reading]  # unknown event1: kept
    fire = {
        **EVENT,
        "data": {
            "id": "2",
            "params": {
                "smoke_alarm": {
                    "eventType": "alarm",
                    "time": 1795694339068,
                    "value": {"density": 9},
                }
            },
        },
    }
    first, second = decode(push(fire)), decode(push(fire))
    assert events(first) == events(second) == [E.ALARM]  # events repeat, states do not


def test_decode_rejects_tampered_body() -> None:
    body = push(PROPERTY).replace(b"1.11", b"9.99")
    with pytest.raises(DecodeError) as info:
        decode(body)
    assert info.value.code == "bad_signature"


def test_decode_wrong_token() -> None:
    with pytest.raises(DecodeError) as info:
        decode(push(PROPERTY, token="someone-else"))
    assert info.value.code == "bad_signature"


def test_decode_unverified_only_when_asked() -> None:
    assert decode(push(PROPERTY, token="x"), OneNetCodec(token=None, verify=False)).records
    with pytest.raises(DecodeError) as info:
        decode(push(PROPERTY, token="x"), OneNetCodec(token=None))
    assert info.value.code == "no_token"


def legacy(msg_text: str, token: str = TOKEN) -> bytes:
    """Legacy body {"msg": <JSON value>, "msg_signature", "nonce"}: PHP/util.php _handleRuleMsg
    signs the JSON text of msg; the text is kept exactly as sent, spacing included."""
    sig = signature(token, NONCE, msg_text)
    return ('{"msg": ' + msg_text + f', "msg_signature": "{sig}", "nonce": "{NONCE}"}}').encode()


# Legacy datapoint as logged by a public OneNET integration (YDUtil): LwM2M datastream
# 3200_0_5750 with the raw value as text.
LEGACY_POINT = (
    '{"dev_id": 518766092, "imei": "866971030431923", "value": "123456789", '
    '"at": 1795694339000, "ds_id": "3200_0_5750", "type": 1}'
)


def test_decode_legacy_datapoint() -> None:
    result = decode(legacy(LEGACY_POINT))
    assert result.external_ids == ("518766092",)
    (record,) = result.records
    assert isinstance(record, Reading)
    assert record.ts.isoformat() == "2026-11-26T11:58:59+00:00"
    assert record.extra is not None
    assert record.extra["properties"]["3200_0_5750"] == "123456789"
    assert result.dedupe_key is not None and result.dedupe_key.startswith("onenet:hash:")


def test_decode_legacy_batch_of_datapoints() -> None:
    batch = (
        '[{"type": 1, "dev_id": 1, "ds_id": "smoke_alarm", "at": 1795694339000, '
        '"value": 1}, {"type": 1, "dev_id": 2, "ds_id": "battery", "at": 1795694339000, '
        '"value": 64}]'
    )
    result = decode(legacy(batch))
    assert result.external_ids == ("1", "2")
    alarm, battery = result.records
    assert isinstance(alarm, Event) and alarm.type == E.ALARM and alarm.device_id == "1"
    assert isinstance(battery, Reading) and battery.battery_pct == 64.0


def test_decode_legacy_rejects_bad_signature() -> None:
    body = legacy(LEGACY_POINT).replace(b"123456789", b"987654321")
    with pytest.raises(DecodeError) as info:
        decode(body)
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"enc_msg": "xxxx", "nonce": "abcdefgh"}', "encrypted_unsupported"),
        (b'{"nonce": "abcdefgh"}', "bad_payload"),
        (b"[]", "not_an_object"),
        (legacy('{"type": 2, "dev_id": 1, "status": 1}'), "unsupported_message"),
        (legacy('{"type": 1, "ds_id": "x", "value": 1}'), "missing_device_id"),
    ],
)
def test_decode_rejects_bad_input(body: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(body)
    assert info.value.code == code


def test_decode_battery_level_words() -> None:
    # "battery as low/medium/high" quirk through a thing-model property
    inner = {
        **PROPERTY,
        "data": {"id": "3", "params": {"battery_level": {"time": 1795694339000, "value": "low"}}},
    }
    result = decode(push(inner))
    assert events(result) == [E.LOW_BATTERY]
    assert reading(result).battery_pct is None


def test_decode_legacy_duplicate_msg_cannot_smuggle_data() -> None:
    # A captured, validly signed body with a second "msg" appended: only the signed text counts.
    signed = legacy(LEGACY_POINT).decode()
    forged = signed[:-1] + ', "msg": {"type": 1, "dev_id": 7, "ds_id": "smoke_alarm", "value": 1}}'
    result = decode(forged.encode())
    assert result.external_ids == ("518766092",)
    assert events(result) == []
