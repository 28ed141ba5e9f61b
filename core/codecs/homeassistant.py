"""Home Assistant MQTT discovery: detectors (ESPHome, Tasmota and similar firmware) that announce
themselves with retained discovery configs, and the state topics those configs point to.

Source: Home Assistant's MQTT documentation (home-assistant/home-assistant.io
``source/_integrations/mqtt.markdown``, "MQTT Discovery"; ``binary_sensor.mqtt.markdown``,
``sensor.mqtt.markdown``):

- Config topic ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`` (prefix
  ``homeassistant``), retained; an empty payload removes the entity. A *device* discovery
  payload (``<prefix>/device/<object_id>/config``) lists several components under ``cmps``
  (each with ``p``, the platform), sharing the top-level ``state_topic`` and ``dev``.
- Keys may be abbreviated (``stat_t``, ``dev_cla``, ``pl_on``, ``pl_off``, ``val_tpl``,
  ``uniq_id``, ``unit_of_meas``, ``dev`` with ``ids``/``name``/``mf``/``mdl``/``sw``) and a
  topic may use ``~`` for the ``~`` (base topic) value at its start or end.
- ``binary_sensor``: the state is ``payload_on`` (default ``ON``) or ``payload_off`` (default
  ``OFF``), after ``value_template``. Device classes we read: ``smoke`` (alarm), ``heat``,
  ``battery`` (on = low), ``tamper``, ``problem`` (fault).
- ``sensor``: device classes ``battery`` (%), ``voltage`` (V or mV by unit), ``temperature``
  (°C), ``signal_strength`` (dBm).

``value_template`` is Jinja in Home Assistant; we never evaluate it. The simple forms
``{{ value }}``, ``{{ value_json.key }}`` and ``{{ value_json['key'] }}`` (and chains of these
member lookups) are read; any other template makes the entity *unsupported*, with the reason
recorded on the discovered entity and on the dead letter of its state messages.

How ingest runs it: a config message is an :class:`~core.codecs.types.Announcement` that
ingest keeps in ``ha_entities`` (the installers' list of discovered devices). A state message's
external id is its **state topic**; ingest lends the codec the entity configs subscribed to that
topic (``profile["entities"]``) and binds the topic to the device registered under the entity's
device key (codec ``homeassistant``, the device's first ``identifiers`` value, else the
entity's ``unique_id``). Flags are remembered per state topic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from core.codecs.battery import PROFILE_KEY, with_level
from core.codecs.common import (
    Telemetry,
    as_number,
    build_records,
    json_object,
    message_key,
    previous_flags,
    transitions,
)
from core.codecs.types import Announcement, Decoded, Message, State, Transport
from core.errors import DecodeError

NAME: Final = "homeassistant"
_ABBREVIATIONS: Final = {
    "stat_t": "state_topic",
    "dev_cla": "device_class",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "val_tpl": "value_template",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "dev": "device",
    "obj_id": "object_id",
    "p": "platform",
}
_DEVICE_ABBREVIATIONS: Final = {
    "ids": "identifiers",
    "mf": "manufacturer",
    "mdl": "model",
    "sw": "sw_version",
    "hw": "hw_version",
}
_BINARY_FLAGS: Final = {
    "smoke": "alarm",
    "heat": "heat",
    "battery": "battery_low",
    "tamper": "tamper",
    "problem": "fault",
}
_SENSOR_CLASSES: Final = frozenset({"battery", "voltage", "temperature", "signal_strength"})
_COMPONENTS: Final = frozenset({"binary_sensor", "sensor"})
_MEMBER: Final = r"""\s*\.\s*[A-Za-z_]\w*|\s*\[\s*(?:'[^']*'|"[^"]*")\s*\]"""
_SIMPLE_TEMPLATE: Final = re.compile(rf"^\{{\{{\s*(value(?:_json)?)((?:{_MEMBER})*)\s*\}}\}}$")
_STEP: Final = re.compile(r"\.\s*([A-Za-z_]\w*)|\[\s*(?:'([^']*)'|\"([^\"]*)\")\s*\]")
_TOPIC_ID: Final = re.compile(r"^[A-Za-z0-9_-]+$")


class HomeAssistantCodec:
    """Discovery configs under one prefix, and the state topics matching ``state_filters``."""

    name = NAME
    transport: Transport = "mqtt"

    def __init__(
        self,
        *,
        discovery_prefix: str = "homeassistant",
        state_filters: tuple[str, ...] = ("+/binary_sensor/+/state", "+/sensor/+/state"),
        max_bytes: int = 65536,
    ) -> None:
        self._prefix = discovery_prefix.strip("/")
        self._state_filters = state_filters
        self._max_bytes = max_bytes

    @property
    def topic_filters(self) -> tuple[str, ...]:
        """Discovery configs (with and without node id) and the configured state topics."""
        return (f"{self._prefix}/+/+/config", f"{self._prefix}/+/+/+/config", *self._state_filters)

    def owns_topic(self, topic: str) -> bool:
        """True for discovery configs and topics matching a state filter."""
        return self._is_config(topic) or any(topic_matches(f, topic) for f in self._state_filters)

    def identify(self, message: Message) -> tuple[str, ...]:
        """The state topic (a config message names no device)."""
        topic = message.topic or ""
        if self._is_config(topic) or not self.owns_topic(topic):
            return ()
        return (topic,)

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """A config becomes an announcement; a state message becomes records."""
        topic = message.topic or ""
        if len(message.body) > self._max_bytes:
            raise DecodeError("too_large", f"payload exceeds {self._max_bytes} bytes")
        if self._is_config(topic):
            return self._config(topic, message.body)
        if not self.owns_topic(topic):
            raise DecodeError(
                "bad_topic", f"topic {topic[:80]!r} is not a discovery or state topic"
            )
        state = states.get(topic)
        profile = state.get(PROFILE_KEY) if isinstance(state, Mapping) else None
        entities = profile.get("entities") if isinstance(profile, Mapping) else None
        entities = (
            [e for e in entities if isinstance(e, Mapping)] if isinstance(entities, list) else []
        )
        if not entities:
            # A state topic no discovery config points to (yet): nothing to say about a device.
            return Decoded(note="no discovery config names this state topic")
        return _state(topic, message, entities, state)

    def _is_config(self, topic: str) -> bool:
        parts = topic.split("/")
        return parts[0] == self._prefix and parts[-1] == "config" and len(parts) in (4, 5)

    def _config(self, topic: str, body: bytes) -> Decoded:
        parts = topic.split("/")
        if not all(_TOPIC_ID.match(p) for p in parts[1:-1]):
            raise DecodeError("bad_topic", "discovery topic ids must be [A-Za-z0-9_-]")
        if not body.strip():
            return Decoded(announcements=(Announcement(topic, ()),), note="entity removed")
        config = _expand(json_object(body, what="discovery config"))
        component = parts[1]
        if component == "device":
            entities = _device_components(config)
        else:
            entities = (_entity(component, "", config, config),)
        return Decoded(announcements=(Announcement(topic, entities),))


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest)."""
    levels, parts = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(levels):
        if level == "#":
            return True
        if index >= len(parts) or (level not in ("+", parts[index])):
            return False
    return len(levels) == len(parts)


def _expand(config: Mapping[str, Any]) -> dict[str, Any]:
    """Abbreviations to full keys, ``~`` substituted in topics."""
    out = {_ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = out.get("~")
    if isinstance(base, str):
        for key, value in list(out.items()):
            if key.endswith("_topic") and isinstance(value, str):
                if value.startswith("~"):
                    out[key] = base + value[1:]
                elif value.endswith("~"):
                    out[key] = value[:-1] + base
    device = out.get("device")
    if isinstance(device, Mapping):
        out["device"] = {_DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    return out


def _device_components(config: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    components = config.get("cmps", config.get("components"))
    if not isinstance(components, Mapping) or not components:
        raise DecodeError("bad_payload", "device discovery needs a 'cmps' object")
    out = []
    for key, raw in components.items():
        if not isinstance(raw, Mapping):
            raise DecodeError("bad_payload", f"component {str(key)[:40]!r} is not an object")
        component = _expand(raw)
        out.append(_entity(str(component.get("platform", "")), str(key), component, config))
    return tuple(out)


def _entity(
    component: str, key: str, config: Mapping[str, Any], parent: Mapping[str, Any]
) -> dict[str, Any]:
    """What we keep of one entity: enough to decode its state and to list it for installers."""
    raw_device = parent.get("device")
    device: Mapping[str, Any] = raw_device if isinstance(raw_device, Mapping) else {}
    identifiers = device.get("identifiers")
    if isinstance(identifiers, list):
        identifiers = identifiers[0] if identifiers else None
    unique_id = config.get("unique_id")
    device_key = identifiers or unique_id
    state_topic = config.get("state_topic", parent.get("state_topic"))
    entity: dict[str, Any] = {
        "key": key,
        "component": component,
        "device_key": str(device_key)[:200] if device_key not in (None, "") else None,
        "device_class": config.get("device_class"),
        "state_topic": state_topic if isinstance(state_topic, str) else None,
        "payload_on": _text(config.get("payload_on", "ON")),
        "payload_off": _text(config.get("payload_off", "OFF")),
        "unit": config.get("unit_of_measurement"),
        "name": config.get("name"),
        "unique_id": unique_id,
        "device": {k: device.get(k) for k in ("name", "manufacturer", "model", "sw_version")},
        "path": None,
        "unsupported": None,
    }
    template = config.get("value_template")
    if template is not None:
        path = template_path(template)
        if path is None:
            entity["unsupported"] = (
                f"value_template {str(template)[:80]!r} is not one of the simple forms "
                "{{ value }}, {{ value_json.key }}, {{ value_json['key'] }}"
            )
        else:
            entity["path"] = path
    if component not in _COMPONENTS:
        entity["unsupported"] = f"component {component[:40]!r} is not a binary_sensor or sensor"
    elif entity["state_topic"] is None:
        entity["unsupported"] = "no state_topic"
    elif entity["device_key"] is None:
        entity["unsupported"] = "no device identifiers and no unique_id: nothing to register"
    return entity


def template_path(template: object) -> list[str] | None:
    """The member path a simple template reads (``[]`` for ``{{ value }}``), else None."""
    if not isinstance(template, str):
        return None
    match = _SIMPLE_TEMPLATE.match(template.strip())
    if match is None:
        return None
    root, chain = match.group(1), match.group(2)
    steps = [a or b or c for a, b, c in _STEP.findall(chain)]
    if root == "value":
        return None if steps else []
    return ["$json", *steps]


def _text(value: object) -> str:
    # Home Assistant validates payload_on/off as strings: true becomes "True".
    return str(value)


def _state(
    topic: str, message: Message, entities: list[Mapping[str, Any]], state: State | None
) -> Decoded:
    observed: dict[str, bool | None] = {}
    telemetry = Telemetry()
    unsupported: list[str] = []
    readable = 0
    for entity in entities:
        reason = entity.get("unsupported")
        if reason:
            unsupported.append(str(reason))
            continue
        path = entity.get("path") or []
        if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
            unsupported.append("stored template path is not a list of names")
            continue
        value = _extract(message.body, path)
        if value is None:
            continue
        readable += 1
        _apply(entity, value, observed, telemetry)
    if not readable and unsupported:
        raise DecodeError("unsupported_template", "; ".join(unsupported)[:300])
    observed = with_level(observed, telemetry, state)
    change = transitions(previous_flags(state), observed)
    extra: dict[str, Any] = {"state_topic": topic}
    if unsupported:
        extra["unsupported"] = unsupported
    records = build_records(
        external_id=topic,
        source=NAME,
        ts=message.received_at,
        received_at=message.received_at,
        msg_key=message_key(topic, message.body),
        events=change.events,
        telemetry=telemetry,
        raw={"topic": topic, "payload": message.body.decode("utf-8", "replace")[:2000]},
        extra=extra,
    )
    return Decoded(records=records, external_ids=(topic,), states={topic: {"flags": change.flags}})


def _extract(body: bytes, path: list[str]) -> str | None:
    """The value as Home Assistant would render it, or None when the path is missing."""
    if not path:
        return body.decode("utf-8", "replace").strip()
    try:
        value: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(
            "bad_json", "value_template reads value_json but the state is not JSON"
        ) from exc
    for step in path[1:]:
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _apply(
    entity: Mapping[str, Any], value: str, observed: dict[str, bool | None], telemetry: Telemetry
) -> None:
    device_class = entity.get("device_class")
    if entity.get("component") == "binary_sensor":
        flag = _BINARY_FLAGS.get(str(device_class))
        if flag is None:
            return
        if value == entity.get("payload_on"):
            observed[flag] = True
        elif value == entity.get("payload_off") and observed.get(flag) is not True:
            observed[flag] = False
        return
    if device_class not in _SENSOR_CLASSES:
        return
    name = str(entity.get("name") or device_class)
    if device_class == "battery":
        telemetry.set_battery_pct(name, value)
    elif device_class == "temperature":
        telemetry.set_temperature(name, value)
    elif device_class == "signal_strength":
        telemetry.set_signal(name, value)
    elif device_class == "voltage":
        number = as_number(value)
        if str(entity.get("unit") or "").strip() == "mV":
            telemetry.set_battery_mv(name, number)
        else:
            telemetry.set_battery_volts(name, number)
