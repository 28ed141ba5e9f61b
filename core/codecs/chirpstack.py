"""ChirpStack MQTT integration (v4, and v3's JSON forms) for LoRaWAN smoke detectors.

Topic ``application/<application id>/device/<devEui>/event/<up|status|join>``
(chirpstack/chirpstack-docs ``src/chirpstack/integrations/mqtt.md``; v3: brocaar/chirpstack-docs
``docs/application-server/integrations/events.md``). Bodies follow the Protobuf JSON mapping, which
omits default values: a v4 ``up`` with frame counter 0 has no ``fCnt``, a ``status`` with margin 0
no ``margin``. v4 bodies carry ``deviceInfo.devEui`` (hex), ``time``, ``deduplicationId`` and a
decoded ``object``; v3 carries ``devEUI`` (base64 in "JSON", hex in legacy "JSON v3"), ``object``
(legacy) or ``objectJSON`` (a string). ``data`` is the base64 FRMPayload.

``up``: the decoded object when present (Milesight's and Netvox's own decoders, or a generic
property object), else ``data`` through core.codecs.lora_payloads (GS524N, RA02A, chosen by frame
shape). ``status``: ``batteryLevel`` (percent) unless ``batteryLevelUnavailable`` or
``externalPowerSource``. ``join``: a Reading that refreshes liveness. Other events are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson

from core.codecs import lora_payloads as lp
from core.codecs.battery import with_level
from core.codecs.common import (
    Telemetry,
    as_flag,
    as_number,
    b64decode,
    build_records,
    json_object,
    lower_keys,
    message_key,
    previous_flags,
    timestamp,
    transitions,
)
from core.codecs.thing_model import map_properties
from core.codecs.types import Decoded, Message, State, Transport
from core.errors import DecodeError

NAME: Final = "chirpstack"
_DEV_EUI: Final = re.compile(r"^[0-9a-fA-F]{16}$")
_HANDLED_EVENTS: Final = ("up", "status", "join")
_GS524N_BY_NAME: Final = {v: k for k, v in lp.GS524N_MESSAGE_TYPES.items()}


class ChirpStackCodec:
    """Codec for ChirpStack's MQTT integration under one topic prefix."""

    name = NAME
    transport: Transport = "mqtt"

    def __init__(self, *, prefix: str = "application", max_bytes: int = 65536) -> None:
        self._prefix = prefix.rstrip("/")
        self._max_bytes = max_bytes

    @property
    def topic_filters(self) -> tuple[str, ...]:
        """Every device event of every application."""
        return (f"{self._prefix}/+/device/+/event/+",)

    def owns_topic(self, topic: str) -> bool:
        """True for ``<prefix>/<app>/device/<devEui>/event/<type>``."""
        parts = topic.split("/")
        return (
            len(parts) == 6
            and parts[0] == self._prefix
            and parts[2] == "device"
            and parts[4] == "event"
        )

    def identify(self, message: Message) -> tuple[str, ...]:
        """The devEui in the topic, lower-case hex."""
        return (self._route(message.topic)[0],)

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """Decode one integration event."""
        if len(message.body) > self._max_bytes:
            raise DecodeError("too_large", f"payload exceeds {self._max_bytes} bytes")
        dev_eui, event = self._route(message.topic)
        if event not in _HANDLED_EVENTS:
            return Decoded(external_ids=(dev_eui,), note=f"{event} events are not device data")
        body = json_object(message.body, what="ChirpStack event")
        _check_body_eui(body, dev_eui)
        ts, clock_suspect = timestamp(_event_time(body), message.received_at)
        key = message_key(body.get("deduplicationId") or message.body)
        extra: dict[str, Any] = {"event": event}
        if clock_suspect:
            extra["clock_suspect"] = True
        previous = states.get(dev_eui)
        if event == "up":
            return self._up(
                dev_eui,
                body,
                previous,
                ts=ts,
                received_at=message.received_at,
                key=key,
                extra=extra,
            )
        telemetry = Telemetry()
        if event == "join":
            extra["dev_addr"] = body.get("devAddr")
            records = build_records(
                external_id=dev_eui,
                source=NAME,
                ts=ts,
                received_at=message.received_at,
                msg_key=key,
                events=(),
                telemetry=telemetry,
                raw=body,
                extra=extra,
            )
            return Decoded(records=records, external_ids=(dev_eui,))
        # status: the battery level the device reported in a MAC command (DevStatusAns); a
        # model with battery thresholds turns it into low_battery / battery_ok.
        _status(body, telemetry, extra)
        change = transitions(previous_flags(previous), with_level({}, telemetry, previous))
        records = build_records(
            external_id=dev_eui,
            source=NAME,
            ts=ts,
            received_at=message.received_at,
            msg_key=key,
            events=change.events,
            telemetry=telemetry,
            raw=body,
            extra=extra,
        )
        return Decoded(
            records=records, external_ids=(dev_eui,), states={dev_eui: {"flags": change.flags}}
        )

    def _route(self, topic: str | None) -> tuple[str, str]:
        if topic is None or not self.owns_topic(topic):
            raise DecodeError("bad_topic", f"topic {str(topic)[:80]!r} is not a ChirpStack event")
        parts = topic.split("/")
        if not _DEV_EUI.match(parts[3]):
            raise DecodeError("bad_device_id", f"devEui {parts[3][:40]!r} is not 16 hex digits")
        return parts[3].lower(), parts[5]

    def _up(
        self,
        dev_eui: str,
        body: dict[str, Any],
        previous: State | None,
        *,
        ts: datetime,
        received_at: datetime,
        key: int,
        extra: dict[str, Any],
    ) -> Decoded:
        telemetry = Telemetry()
        _radio(body, telemetry, extra)
        obj = _decoded_object(body)
        fport = body.get("fPort", 0)  # omitted when 0 (Protobuf JSON default)
        if obj is not None:
            observed, forced = _from_object(obj, telemetry, extra)
            extra["decoded_by"] = "network_server"
        else:
            data = b64decode(body.get("data", ""), what="ChirpStack 'data'")
            observed, forced = _from_bytes(
                fport if isinstance(fport, int) else None, data, telemetry, extra
            )
            extra["decoded_by"] = "smokewatch"
        observed = with_level(observed, telemetry, previous)
        change = transitions(previous_flags(previous), observed, forced=forced)
        records = build_records(
            external_id=dev_eui,
            source=NAME,
            ts=ts,
            received_at=received_at,
            msg_key=key,
            events=change.events,
            telemetry=telemetry,
            raw=body,
            extra=extra,
        )
        return Decoded(
            records=records, external_ids=(dev_eui,), states={dev_eui: {"flags": change.flags}}
        )


def _check_body_eui(body: Mapping[str, Any], dev_eui: str) -> None:
    """The body's devEui, when present, must be the topic's (hex in v4, hex or base64 in v3)."""
    info = body.get("deviceInfo")
    claimed = info.get("devEui") if isinstance(info, Mapping) else body.get("devEUI")
    if claimed is None:
        return
    if isinstance(claimed, str) and _DEV_EUI.match(claimed):
        found = claimed.lower()
    else:
        raw = b64decode(claimed, what="devEUI")
        found = raw.hex()
    if found != dev_eui:
        raise DecodeError("identity_mismatch", "body devEui differs from the topic's")


def _event_time(body: Mapping[str, Any]) -> object:
    if body.get("time") is not None:
        return body["time"]
    rx = body.get("rxInfo")
    if isinstance(rx, list) and rx and isinstance(rx[0], Mapping):
        return rx[0].get("time")
    return None


def _radio(body: Mapping[str, Any], telemetry: Telemetry, extra: dict[str, Any]) -> None:
    """Best RSSI over the receiving gateways, and the frame counter (0 when omitted)."""
    rssis = []
    rx = body.get("rxInfo")
    if isinstance(rx, list):
        for item in rx:
            if isinstance(item, Mapping):
                number = as_number(item.get("rssi"))
                if number is not None:
                    rssis.append(number)
    if rssis:
        telemetry.set_signal("rssi", max(rssis))
    extra["f_cnt"] = body.get("fCnt", 0)


def _decoded_object(body: Mapping[str, Any]) -> dict[str, Any] | None:
    obj = body.get("object")
    if isinstance(obj, dict) and obj:
        return obj
    text = body.get("objectJSON")
    if isinstance(text, str) and text.strip():
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DecodeError("bad_json", "objectJSON is not valid JSON") from exc
        if isinstance(parsed, dict) and parsed:
            return parsed
    return None


def _status(body: Mapping[str, Any], telemetry: Telemetry, extra: dict[str, Any]) -> None:
    external = bool(body.get("externalPowerSource", False))
    unavailable = bool(body.get("batteryLevelUnavailable", False))
    extra["margin"] = body.get("margin", 0)
    if external:
        extra["external_power"] = True
    elif unavailable:
        extra["battery_unavailable"] = True
    else:
        # Omitted means 0 in the Protobuf JSON mapping.
        telemetry.set_battery_pct("batteryLevel", body.get("batteryLevel", 0))


def _from_bytes(
    fport: int | None, data: bytes, telemetry: Telemetry, extra: dict[str, Any]
) -> tuple[lp.Observed, set[str]]:
    if lp.looks_like_gs524n(data):
        return lp.gs524n_observation(lp.decode_gs524n(data), telemetry, extra)
    if lp.looks_like_ra02a(fport, data):
        frame = lp.decode_ra02a(fport, data)
        if isinstance(frame, lp.Ra02aVersion):
            telemetry.firmware = f"{frame.software_version:g}"
            extra["hardware_version"] = frame.hardware_version
            extra["date_code"] = frame.date_code
            return {}, set()
        return lp.ra02a_observation(frame, telemetry)
    raise DecodeError(
        "unknown_payload", f"no decoder for a {len(data)}-byte frame on fPort {fport}"
    )


def _from_object(
    obj: dict[str, Any], telemetry: Telemetry, extra: dict[str, Any]
) -> tuple[lp.Observed, set[str]]:
    props = lower_keys(obj)
    event = props.get("event")
    if isinstance(event, str) and event in _GS524N_BY_NAME:
        # Milesight's decoder output: {"event": "alarm", "battery": 100, ...}
        code = _GS524N_BY_NAME[event]
        observed, forced = lp.gs524n_observation(
            lp.Gs524nFrame(0, 0, 1, code, 0, 0, 0), Telemetry(), {}
        )
        if props.get("battery") is not None:
            telemetry.set_battery_pct("battery", props["battery"])
        if props.get("temperature") is not None:
            telemetry.set_temperature("temperature", props["temperature"])
        extra["gs524n_event"] = event
        extra["concentration_pct"] = props.get("concentration")
        return observed, forced
    if "firealarm" in props or props.get("device") == "RA02A":
        # Netvox' decoder output: {"FireAlarm": "Alarm", "Volt": "2.6(low battery)", ...}; the
        # start-up (version) report is {"Device": "RA02A", "SWver": 1, "HWver": 2,
        # "Datecode": "20200507"} (lorawan-devices vendor/netvox/payload/ra02a.js).
        if props.get("swver") is not None and "firealarm" not in props:
            version = as_number(props["swver"])
            if version is not None:
                telemetry.firmware = f"{version:g}"
            extra["hardware_version"] = props.get("hwver")
            extra["date_code"] = props.get("datecode")
            return {}, set()
        netvox: lp.Observed = {
            "alarm": _alarm_word(props.get("firealarm")),
            "heat": _alarm_word(props.get("hightempalarm")),
        }
        volt = props.get("volt")
        if volt is not None:
            telemetry.set_battery_volts("Volt", volt)
            netvox["battery_low"] = isinstance(volt, str) and "low battery" in volt.lower()
        if props.get("temp") is not None:
            telemetry.set_temperature("Temp", props["temp"])
        return netvox, set()
    mapped = map_properties(obj)
    for name in ("battery_pct", "battery_mv", "temperature_c", "signal_dbm", "smoke_obscuration"):
        value = getattr(mapped.telemetry, name)
        if value is not None:
            setattr(telemetry, name, value)
    telemetry.rejected.update(mapped.telemetry.rejected)
    extra["object"] = mapped.unmapped
    return mapped.observed, set()


def _alarm_word(value: object) -> bool | None:
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "alarm":
            return True
        if word == "no alarm":
            return False
    return as_flag(value)
