"""zigbee2mqtt: device state objects, availability and bridge state, mapped to canonical records.

Topics (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html), base ``zigbee2mqtt``:
- ``<base>/<friendly_name>``: the device's full JSON state, republished on every change. The
  friendly name is the IEEE address unless set, and may contain ``/``.
- ``<base>/<friendly_name>/availability``: ``online``/``offline`` (legacy plain text) or
  ``{"state": "online"}`` (https://www.zigbee2mqtt.io/guide/configuration/device-availability.html).
- ``<base>/bridge/state``: the bridge itself, plain or JSON the same way; other ``bridge/...``
  topics and ``/set``, ``/get`` command topics are not device data and are ignored.

Properties follow zigbee-herdsman-converters (``src/devices/*.ts``, ``fromZigbee.ts``):
``smoke``, ``tamper``, ``battery_low``, ``test`` (IAS Zone ``ias_smoke_alarm_1``: Heiman HS1SA,
HS3SA, Tuya TS0205); ``fault``/``reliability`` (Develco SMSZB-120); ``test``,
``buzzer_manual_mute`` (Xiaomi JTYJ-GD-01LM/BW, Aqara JY-GZ-01AQ); Tuya TS0601 variants add
``smoke_state`` (alarm/normal/detecting/unknown), ``battery_state`` (low/medium/high),
``device_fault``, ``fault_alarm``, ``silence``, ``test_button``. Events come from transitions of
these flags (see core.codecs.common.transitions); telemetry is battery %, voltage mV and
temperature; linkquality (LQI, not dBm) stays in ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from core.codecs.battery import with_level
from core.codecs.common import (
    Telemetry,
    as_flag,
    battery_level_low,
    build_records,
    json_object,
    lower_keys,
    message_key,
    presence_event,
    previous_flags,
    timestamp,
    transitions,
)
from core.codecs.identity import ieee_address
from core.codecs.types import Decoded, GatewayStatus, Message, State, Transport
from core.domain import EventType
from core.errors import DecodeError

NAME: Final = "zigbee2mqtt"
_COMMAND_SUFFIXES: Final = ("/set", "/get")
_MAX_NAME: Final = 256
# property -> flag it reports
_BOOL_FLAGS: Final = {
    "smoke": "alarm",
    "tamper": "tamper",
    "battery_low": "battery_low",
    "test": "test",
    "fault": "fault",
    "device_fault": "fault",
    "fault_alarm": "fault",
    "trouble": "fault",
    "silence": "silenced",
    "buzzer_manual_mute": "silenced",
}
_SMOKE_STATE: Final = {"alarm": True, "normal": False}  # detecting/unknown say nothing
# Self-test on Tuya datapoint variants (zigbee-herdsman-converters): ``self_test`` (binary,
# src/lib/tuya.ts ``tuya.exposes.selfTest``), ``self_checking`` (Alecto SMART-SMOKE10,
# src/devices/alecto.ts), ``test_alarm`` (Woox R7049, src/devices/woox.ts). Their results:
# ``self_test_result`` checking/success/failure/others (``tuya.exposes.selfTestResult``),
# ``checking_result`` and ``test_alarm_result`` checking/check_success/check_failure/others;
# some firmware puts those words in ``self_test`` itself.
_SELF_TEST_PROPS: Final = ("self_test", "self_checking", "test_alarm")
_SELF_TEST_RESULTS: Final = ("self_test_result", "checking_result", "test_alarm_result")
_RESULT_WORDS: Final = {
    "checking": "checking",
    "check_success": "success",
    "success": "success",
    "check_failure": "failure",
    "failure": "failure",
}
_HANDLED: Final = frozenset(
    {
        *_BOOL_FLAGS,
        "smoke_state",
        "battery_state",
        "test_button",
        "reliability",
        "battery",
        "voltage",
        "temperature",
        "last_seen",
        *_SELF_TEST_PROPS,
        *_SELF_TEST_RESULTS,
    }
)


class Zigbee2MqttCodec:
    """Codec for one zigbee2mqtt base topic."""

    name = NAME
    transport: Transport = "mqtt"

    def __init__(self, *, base_topic: str = "zigbee2mqtt", max_bytes: int = 65536) -> None:
        self._base = base_topic.rstrip("/")
        self._max_bytes = max_bytes

    @property
    def topic_filters(self) -> tuple[str, ...]:
        """Everything under the base topic: device names may contain ``/``."""
        return (f"{self._base}/#",)

    def owns_topic(self, topic: str) -> bool:
        """True for topics under the base topic."""
        return topic.startswith(self._base + "/")

    def identify(self, message: Message) -> tuple[str, ...]:
        """The friendly name the topic names, if any."""
        kind, name = self._route(message.topic)
        return (name,) if kind in ("state", "availability") and name else ()

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """Decode one zigbee2mqtt message."""
        if len(message.body) > self._max_bytes:
            raise DecodeError("too_large", f"payload exceeds {self._max_bytes} bytes")
        kind, name = self._route(message.topic)
        if kind == "bridge":
            online = _presence(message.body)
            return Decoded(gateway=GatewayStatus(self._base, online), note="bridge state")
        if kind == "ignored":
            return Decoded(note="not device data")
        if kind == "availability":
            return self._availability(name, message, states.get(name))
        return self._decode_state(name, message, states.get(name))

    def _route(self, topic: str | None) -> tuple[str, str]:
        if topic is None or not self.owns_topic(topic):
            raise DecodeError("bad_topic", f"topic {str(topic)[:80]!r} is not under {self._base!r}")
        rest = topic[len(self._base) + 1 :]
        if not rest or len(rest) > _MAX_NAME:
            raise DecodeError("bad_topic", "missing or over-long friendly name")
        if rest == "bridge/state":
            return "bridge", ""
        if rest.startswith("bridge/") or rest == "bridge":
            return "ignored", ""
        if rest.endswith(_COMMAND_SUFFIXES) or "/set/" in rest or "/get/" in rest:
            return "ignored", ""
        if rest.endswith("/availability"):
            name = rest[: -len("/availability")]
            if not name:
                raise DecodeError("bad_topic", "availability topic without a device name")
            return "availability", _canonical(name)
        return "state", _canonical(rest)

    def _availability(self, name: str, message: Message, state: State | None) -> Decoded:
        # Availability is retained and redelivered on every reconnect: report changes only.
        if not message.body.strip():
            # zigbee2mqtt clears the retained availability of a renamed device with an empty
            # retained message (lib/extension/availability.ts, onEntityRenamed): not an error,
            # and not news about any device.
            return Decoded(note="availability cleared (empty retained message)")
        online = _presence(message.body)
        before = state.get("online") if isinstance(state, Mapping) else None
        new_state = {**_as_dict(state), "online": online}
        if before is online:
            return Decoded(external_ids=(name,), states={name: new_state}, note="unchanged")
        event = presence_event(
            external_id=name,
            online=online,
            source=NAME,
            ts=message.received_at,
            received_at=message.received_at,
            msg_key=message_key(message.topic or "", message.body),
            raw={"availability": "online" if online else "offline"},
        )
        return Decoded(records=(event,), external_ids=(name,), states={name: new_state})

    def _decode_state(self, name: str, message: Message, state: State | None) -> Decoded:
        if not message.body.strip():
            # An empty retained message is how a state topic is cleared (device removed).
            return Decoded(external_ids=(name,), note="empty state message")
        body = json_object(message.body, what="zigbee2mqtt state")
        props = lower_keys(body)
        observed = _observed_flags(props)
        telemetry = _telemetry(props)
        result = _self_test_result(props)
        before = state.get("self_test_result") if isinstance(state, Mapping) else None
        extra_events: list[EventType] = []
        if result == "checking":
            observed["test"] = True
        elif result in ("success", "failure"):
            if before not in (result, "checking"):
                extra_events.append(EventType.TEST)  # a test we did not see start
            observed["test"] = bool(observed.get("test"))
            _note(observed, "fault", result == "failure")
        observed = with_level(observed, telemetry, state)
        ts, clock_suspect = timestamp(props.get("last_seen"), message.received_at)
        change = transitions(previous_flags(state), observed)
        extra: dict[str, Any] = {k: v for k, v in props.items() if k not in _HANDLED}
        if clock_suspect:
            extra["clock_suspect"] = True
        records = build_records(
            external_id=name,
            source=NAME,
            ts=ts,
            received_at=message.received_at,
            msg_key=message_key(message.topic or "", message.body),
            events=(*extra_events, *change.events),
            telemetry=telemetry,
            raw=body,
            extra=extra,
        )
        new_state = {**_as_dict(state), "flags": change.flags}
        if result is not None:
            new_state["self_test_result"] = result
        return Decoded(records=records, external_ids=(name,), states={name: new_state})


def _canonical(name: str) -> str:
    # The spelling registration stores (core.codecs.identity): IEEE addresses in lower case.
    return ieee_address(name) or name


def _as_dict(state: State | None) -> dict[str, Any]:
    return dict(state) if isinstance(state, Mapping) else {}


def _presence(body: bytes) -> bool:
    """Availability payload, legacy ``online``/``offline`` or JSON ``{"state": ...}``."""
    text = body.strip()
    value: object
    if text.startswith(b"{"):
        value = json_object(text, what="availability").get("state")
    else:
        try:
            value = text.decode("ascii").lower()
        except UnicodeDecodeError as exc:
            raise DecodeError("bad_encoding", "availability payload is not ASCII") from exc
    if value == "online":
        return True
    if value == "offline":
        return False
    raise DecodeError("bad_status", "availability must be 'online' or 'offline'")


def _observed_flags(props: Mapping[str, Any]) -> dict[str, bool | None]:
    observed: dict[str, bool | None] = {}

    def note(flag: str, value: bool | None) -> None:
        # Several properties may report one flag: any true wins, else any false.
        if value is None:
            return
        observed[flag] = bool(observed.get(flag)) or value

    for prop, flag in _BOOL_FLAGS.items():
        if prop in props:
            note(flag, as_flag(props[prop]))
    for prop in _SELF_TEST_PROPS:
        if prop in props and _result_word(props[prop]) is None:
            note("test", as_flag(props[prop]))
    smoke_state = props.get("smoke_state")
    if isinstance(smoke_state, str):
        note("alarm", _SMOKE_STATE.get(smoke_state.strip().lower()))
    if "battery_state" in props:
        note("battery_low", battery_level_low(props["battery_state"]))
    test_button = props.get("test_button")
    if isinstance(test_button, str):
        note("test", {"pressed": True, "idle": False}.get(test_button.strip().lower()))
    reliability = props.get("reliability")
    if isinstance(reliability, str):
        note("fault", reliability.strip().lower() != "no_fault_detected")
    return observed


def _note(observed: dict[str, bool | None], flag: str, value: bool) -> None:
    observed[flag] = bool(observed.get(flag)) or value


def _result_word(value: object) -> str | None:
    if isinstance(value, str):
        return _RESULT_WORDS.get(value.strip().lower())
    return None


def _self_test_result(props: Mapping[str, Any]) -> str | None:
    """checking / success / failure from any self-test property, or None."""
    found: list[str] = []
    for prop in (*_SELF_TEST_RESULTS, *_SELF_TEST_PROPS):
        word = _result_word(props.get(prop))
        if word is not None:
            found.append(word)
    for word in ("failure", "checking", "success"):  # a failure anywhere wins
        if word in found:
            return word
    return None


def _telemetry(props: Mapping[str, Any]) -> Telemetry:
    telemetry = Telemetry()
    if props.get("battery") is not None:
        telemetry.set_battery_pct("battery", props["battery"])
    if props.get("voltage") is not None:
        telemetry.set_battery_mv("voltage", props["voltage"])
    if props.get("temperature") is not None:
        telemetry.set_temperature("temperature", props["temperature"])
    return telemetry
