"""China Telecom CTWing/AEP HTTP subscription push ("订阅推送") for NB-IoT smoke detectors.

Message types (``messageType``), fields per the CTWing push format as documented in its help
centre and reproduced in public integrations (see docs/devices.md for the sources):
- ``dataReport``: ``deviceId``, ``timestamp`` (ms), ``upPacketSN``/``upDataSN`` (optional, ``-1``
  or ``""`` when absent), ``payload``: the decoded thing-model JSON, ``{"serviceId": ...,
  "serviceData": {...}}`` for LwM2M profiles, or ``{"APPdata": "<base64>"}`` for transparent
  products. Transparent bytes that are a JSON object are mapped; other bytes need a vendor
  decoder and are refused (dead-lettered) rather than mistaken for a healthy heartbeat.
- ``eventReport``: ``eventType`` 1 info, 2 warning, 3 fault, ``eventContent`` properties.
- ``deviceOnlineOfflineReport``: ``eventType`` 1 online, 0 offline.
- ``commandResponse``: ``taskId``, ``result.resultCode``; produced by the platform, not the
  device, so it yields no device record.

Dedupe key: ``ctwing:<deviceId>:sn:<upPacketSN>`` when the sequence number is valid, else a hash
of the body. The platform retries up to 3 times on a non-200 answer.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any, Final

import orjson

from core.codecs.battery import with_level
from core.codecs.common import (
    as_number,
    b64decode,
    build_records,
    json_object,
    message_key,
    presence_event,
    previous_flags,
    sequence_key,
    timestamp,
    transitions,
)
from core.codecs.identity import ctwing_device
from core.codecs.thing_model import DEFAULT_MAP, PropertyMap, map_properties
from core.codecs.types import Decoded, HttpPushCodec, Message, State
from core.domain import EventType
from core.errors import DecodeError

NAME: Final = "ctwing"
_MAX_ID: Final = 128
_EVENT_INFO, _EVENT_WARNING, _EVENT_FAULT = 1, 2, 3


class CtwingCodec(HttpPushCodec):
    """Codec for CTWing/AEP HTTP push; property maps are per CTWing ``productId``."""

    name = NAME

    def __init__(
        self,
        *,
        product_maps: Mapping[str, PropertyMap] | None = None,
        max_bytes: int = 65536,
    ) -> None:
        self._maps = dict(product_maps or {})
        self._max_bytes = max_bytes

    def identify(self, message: Message) -> tuple[str, ...]:
        """The CTWing ``deviceId``."""
        return (_device_id(self._body(message)),)

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """Decode one push request body."""
        body = self._body(message)
        device_id = _device_id(body)
        kind = body.get("messageType")
        sn = sequence_key(body.get("upPacketSN"))
        dedupe = f"ctwing:{device_id}:sn:{sn}" if sn is not None else None
        dedupe = dedupe or f"ctwing:{device_id}:hash:{message_key(message.body):x}"
        key = sn if sn is not None else message_key(message.body)
        ts, clock_suspect = timestamp(body.get("timestamp"), message.received_at)
        extra: dict[str, Any] = {"message_type": kind}
        for name in ("IMEI", "IMSI", "productId", "serviceId", "topic"):
            if body.get(name) not in (None, "", "undefined"):
                extra[name.lower()] = body[name]
        if clock_suspect:
            extra["clock_suspect"] = True
        if kind == "deviceOnlineOfflineReport":
            event_type = body.get("eventType")
            if event_type not in (0, 1):
                raise DecodeError("bad_status", "eventType must be 1 (online) or 0 (offline)")
            event = presence_event(
                external_id=device_id,
                online=event_type == 1,
                source=NAME,
                ts=ts,
                received_at=message.received_at,
                msg_key=key,
                raw=body,
            )
            return Decoded((event,), (device_id,), dedupe_key=dedupe)
        if kind == "commandResponse":
            result = body.get("result")
            code = result.get("resultCode") if isinstance(result, Mapping) else None
            return Decoded(
                external_ids=(device_id,),
                dedupe_key=dedupe,
                note=f"command {body.get('taskId')} {code}",
            )
        pmap = self._maps.get(str(body.get("productId")), DEFAULT_MAP)
        if kind == "dataReport":
            props = _data_properties(body.get("payload"), extra)
            mapped = map_properties(props, pmap)
            forced: set[str] = set()
            events: tuple[EventType, ...] = ()
        elif kind == "eventReport":
            content = body.get("eventContent")
            if not isinstance(content, Mapping):
                raise DecodeError("bad_payload", "eventReport needs an eventContent object")
            mapped = map_properties(content, pmap)
            forced = {k for k, v in mapped.observed.items() if v}
            level = as_number(body.get("eventType"))
            extra["event_level"] = level
            events = _unmapped_event(level, mapped.any_flag())
        else:
            raise DecodeError(
                "unsupported_message", f"messageType {str(kind)[:40]!r} is not handled"
            )
        observed = with_level(mapped.observed, mapped.telemetry, states.get(device_id))
        change = transitions(previous_flags(states.get(device_id)), observed, forced=forced)
        extra["properties"] = mapped.unmapped
        records = build_records(
            external_id=device_id,
            source=NAME,
            ts=ts,
            received_at=message.received_at,
            msg_key=key,
            events=(*change.events, *events),
            telemetry=mapped.telemetry,
            raw=body,
            extra=extra,
        )
        return Decoded(records, (device_id,), {device_id: {"flags": change.flags}}, dedupe)

    def _body(self, message: Message) -> dict[str, Any]:
        if len(message.body) > self._max_bytes:
            raise DecodeError("too_large", f"payload exceeds {self._max_bytes} bytes")
        return json_object(message.body, what="CTWing push body")


def _device_id(body: Mapping[str, Any]) -> str:
    device_id = body.get("deviceId")
    if not isinstance(device_id, str) or not device_id.strip() or len(device_id) > _MAX_ID:
        raise DecodeError("missing_device_id", "CTWing push needs a string deviceId")
    try:
        # The spelling registration uses (core.codecs.identity): compared in lower case.
        return ctwing_device(device_id)
    except ValueError:
        return device_id.strip()


def _data_properties(payload: object, extra: dict[str, Any]) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise DecodeError("bad_payload", "dataReport payload must be an object")
    if "APPdata" in payload:
        data = b64decode(payload["APPdata"], what="APPdata")
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = None
        if not isinstance(decoded, dict):
            extra_hex = binascii.hexlify(data[:64]).decode()
            raise DecodeError(
                "opaque_payload",
                f"transparent APPdata is binary ({len(data)} bytes, {extra_hex}...) and this "
                "product has no vendor decoder",
            )
        extra["transparent"] = True
        return decoded
    service_data = payload.get("serviceData")
    if isinstance(service_data, Mapping):
        return service_data
    return payload


def _unmapped_event(level: float | None, mapped_any: bool) -> tuple[EventType, ...]:
    """A fault report names a fault even when its content is unknown; a warning must be mapped."""
    if mapped_any:
        return ()
    if level == _EVENT_FAULT:
        return (EventType.FAULT,)
    if level == _EVENT_WARNING:
        # Warnings cover fire and low battery alike: guessing either way is wrong. Refuse, so
        # the message lands in dead letters and the product's property map gets fixed.
        raise DecodeError("unmapped_event", "warning eventReport with no known property")
    return ()
