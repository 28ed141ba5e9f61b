"""Vendor formats the simulator speaks, so tests and demos can mix hardware (issue 6).

Each function builds one message exactly as the vendor's platform sends it: zigbee2mqtt state and
availability topics, ChirpStack v4 ``up``/``status`` events, CTWing push bodies and signed OneNET
push bodies. The field layouts follow the formats' own documentation (named per function; the
codec tests cite the same sources). Pure functions: a caller publishes or POSTs the result.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


# zigbee2mqtt (zigbee2mqtt.io "MQTT topics and messages") -------------------------------------


def zigbee_state(
    friendly_name: str,
    *,
    smoke: bool = False,
    battery: int = 100,
    battery_low: bool = False,
    tamper: bool = False,
    test: bool = False,
    base_topic: str = "zigbee2mqtt",
) -> tuple[str, bytes]:
    """The full state object a smoke detector (Heiman HS1SA exposes) republishes on each change."""
    body = {
        "smoke": smoke,
        "battery": battery,
        "battery_low": battery_low,
        "tamper": tamper,
        "test": test,
        "linkquality": 87,
    }
    return f"{base_topic}/{friendly_name}", orjson.dumps(body)


def zigbee_availability(
    friendly_name: str, *, online: bool, legacy: bool = False, base_topic: str = "zigbee2mqtt"
) -> tuple[str, bytes]:
    """``<name>/availability``: JSON ``{"state": ...}``, or the legacy plain string."""
    state = "online" if online else "offline"
    payload = state.encode() if legacy else orjson.dumps({"state": state})
    return f"{base_topic}/{friendly_name}/availability", payload


def zigbee_bridge_state(*, online: bool, base_topic: str = "zigbee2mqtt") -> tuple[str, bytes]:
    """``bridge/state`` (retained by zigbee2mqtt; its Last Will says offline)."""
    return f"{base_topic}/bridge/state", orjson.dumps({"state": "online" if online else "offline"})


# ChirpStack v4 MQTT integration (chirpstack-docs integrations/events.md) ----------------------


def gs524n_frame(
    message_type: int, *, battery: int = 100, concentration: int = 0, temp: int = 25
) -> bytes:
    """A Milesight GS524N frame (SensorDecoders GS_Series/GS524N): six bytes summing to 0 mod 256.

    Message types: 1 alarm, 2 alarm cleared... as the README lists; 7 is a test alarm.
    """
    head = bytes([0x22, 0x10 | message_type, battery, concentration, temp & 0xFF])
    return head + bytes([(-sum(head)) % 256])


def chirpstack_up(
    dev_eui: str,
    data: bytes,
    *,
    at: datetime | None = None,
    application_id: str = "17c82e96-be03-4f38-aef3-f83d48582d97",
    f_cnt: int = 0,
    f_port: int = 85,
    prefix: str = "application",
) -> tuple[str, bytes]:
    """An ``event/up`` with base64 ``data`` and no ``object`` (no decoder on the server)."""
    at = at or datetime.now(UTC)
    body: dict[str, Any] = {
        "deduplicationId": hashlib.md5(
            f"{dev_eui}{f_cnt}{at.isoformat()}".encode(), usedforsecurity=False
        ).hexdigest(),
        "time": at.isoformat(),
        "deviceInfo": {
            "applicationId": application_id,
            "deviceName": f"smoke-{dev_eui[-4:]}",
            "devEui": dev_eui,
        },
        "fPort": f_port,
        "data": base64.b64encode(data).decode(),
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -96, "snr": 4.5}],
    }
    if f_cnt:
        body["fCnt"] = f_cnt
    topic = f"{prefix}/{application_id}/device/{dev_eui}/event/up"
    return topic, orjson.dumps(body)


def chirpstack_status(
    dev_eui: str,
    *,
    battery_level: float,
    application_id: str = "17c82e96-be03-4f38-aef3-f83d48582d97",
    prefix: str = "application",
) -> tuple[str, bytes]:
    """An ``event/status`` (DevStatusAns): battery level in percent, link margin."""
    body = {
        "deviceInfo": {"applicationId": application_id, "devEui": dev_eui},
        "margin": 12,
        "batteryLevel": battery_level,
    }
    return f"{prefix}/{application_id}/device/{dev_eui}/event/status", orjson.dumps(body)


# CTWing / AEP HTTP push (the platform's push field table) -------------------------------------


def ctwing_data_report(
    device_id: str,
    properties: dict[str, Any],
    *,
    at: datetime | None = None,
    up_packet_sn: int = -1,
    product_id: str = "15045240",
    imei: str = "861941770261953",
) -> bytes:
    """A ``dataReport`` with a decoded (thing-model) payload."""
    at = at or datetime.now(UTC)
    return orjson.dumps(
        {
            "upPacketSN": up_packet_sn,
            "upDataSN": -1,
            "topic": "v1/up/ad",
            "timestamp": _ms(at),
            "tenantId": "2000033827",
            "serviceId": 1,
            "protocol": "lwm2m",
            "productId": product_id,
            "payload": properties,
            "messageType": "dataReport",
            "deviceType": "",
            "deviceId": device_id,
            "assocAssetId": "",
            "IMSI": "undefined",
            "IMEI": imei,
        }
    )


# OneNET HTTP push (OneNET docs http_push.md, rule_data_new.md) --------------------------------


def onenet_signature(token: str, nonce: str, msg: str) -> str:
    """base64(md5(token + nonce + msg)), as the platform signs every push."""
    digest = hashlib.md5((token + nonce + msg).encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def onenet_property_push(
    product_id: str,
    device_name: str,
    properties: dict[str, Any],
    *,
    token: str,
    push_id: str,
    at: datetime | None = None,
    nonce: str = "abcdefgh",
) -> bytes:
    """A thing-model ``notify``/``property`` push, signed with ``token``."""
    at = at or datetime.now(UTC)
    inner = {
        "productId": product_id,
        "deviceName": device_name,
        "messageType": "notify",
        "notifyType": "property",
        "data": {
            "id": push_id,
            "version": "1.0",
            "params": {k: {"time": _ms(at), "value": v} for k, v in properties.items()},
        },
    }
    msg = orjson.dumps(inner).decode()
    return orjson.dumps(
        {
            "msg": msg,
            "nonce": nonce,
            "signature": onenet_signature(token, nonce, msg),
            "time": _ms(at),
            "id": push_id,
        }
    )


def onenet_verification_query(token: str, msg: str, nonce: str = "abcdefgh") -> dict[str, str]:
    """The query of OneNET's URL verification GET (the endpoint must echo ``msg``)."""
    return {"msg": msg, "nonce": nonce, "signature": onenet_signature(token, nonce, msg)}
