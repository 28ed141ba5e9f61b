"""Turn a claimed command into the message its transport takes (topic and bytes).

- native: ``<prefix>/<device_id>/downlink``, our JSON (docs/protocol.md section 12).
- zigbee2mqtt: ``<base>/<friendly_name>/set`` with the model's writable property
  (zigbee2mqtt.io "MQTT topics and messages": ``zigbee2mqtt/FRIENDLY_NAME/set``).
- ChirpStack v4: ``<prefix>/<application id>/device/<devEui>/command/down`` with
  ``{"devEui", "confirmed", "fPort", "data"}`` (chirpstack/chirpstack-docs
  ``src/chirpstack/integrations/mqtt.md``, "Scheduling a downlink"); always confirmed, so the
  network server reports the device's acknowledgement as an ``ack`` event.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from core.broker_auth import downlink_topic
from core.commands import Kind, support_for
from core.commands.errors import CommandUnsupported


@dataclass(frozen=True, slots=True)
class Outbound:
    """One MQTT message to publish at QoS 1."""

    topic: str
    payload: bytes
    # zigbee2mqtt: the state topic whose next message shows the effect (the acknowledgement)
    watch: str | None = None


@dataclass(frozen=True, slots=True)
class Topics:
    """Where each transport's messages go."""

    prefix: str
    zigbee2mqtt_base: str = "zigbee2mqtt"
    chirpstack_prefix: str = "application"
    chirpstack_application_id: str | None = None


class TransportUnavailable(CommandUnsupported):
    """The command cannot be sent: no address, or the transport has no sender here."""


def native_body(row: dict[str, Any]) -> bytes:
    """The native downlink body: the command id is the identity the device deduplicates on."""
    expires: datetime = row["expires_at"]
    return orjson.dumps(
        {
            "id": row["id"],
            "command": row["kind"],
            "params": row["parameters"] or {},
            "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    )


def netvox_config_report(interval_s: int) -> bytes:
    """Netvox RA02A ConfigReportReq (lorawan-devices vendor/netvox/payload/ra02a.js).

    MinTime and MaxTime both set to the interval (seconds, big-endian); BatteryChange 0.1 V
    (one unit), as the vendor's example configuration does; four reserved zero bytes.
    """
    return bytes(
        [0x01, 0x0A, interval_s >> 8, interval_s & 0xFF, interval_s >> 8, interval_s & 0xFF,
         0x01, 0x00, 0x00, 0x00, 0x00]
    )  # fmt: skip


def encode(row: dict[str, Any], topics: Topics) -> Outbound:
    """The message for a claimed command row (with ``model_code`` and ``external_address``)."""
    transport = row["transport"]
    kind = Kind(row["kind"])
    if transport == "native":
        return Outbound(downlink_topic(topics.prefix, row["device_id"]), native_body(row))
    support = support_for(row["model_code"])
    encoding = support.encodings.get(kind)
    address = row.get("external_address")
    if encoding is None:
        raise TransportUnavailable(f"{row['model_code']} has no encoding for {kind}")
    if not address:
        raise TransportUnavailable(f"device {row['device_id']} has no {transport} identity")
    if transport == "zigbee2mqtt":
        state = f"{topics.zigbee2mqtt_base}/{address}"
        return Outbound(f"{state}/set", orjson.dumps(encoding), watch=state)
    if transport == "chirpstack":
        if not topics.chirpstack_application_id:
            raise TransportUnavailable("SMOKEWATCH_CHIRPSTACK_APPLICATION_ID is not set")
        data = netvox_config_report(int(row["parameters"]["interval_s"]))
        body = {
            "devEui": address,
            "confirmed": True,
            "fPort": encoding["fPort"],
            "data": base64.b64encode(data).decode(),
        }
        topic = (
            f"{topics.chirpstack_prefix}/{topics.chirpstack_application_id}"
            f"/device/{address}/command/down"
        )
        return Outbound(topic, orjson.dumps(body))
    raise TransportUnavailable(f"no sender for transport {transport}")


# zigbee2mqtt has no per-message answer: the command is acknowledged when the device's state
# shows its effect, through the properties the codec already reads (docs/devices.md).
Z2M_EFFECT: dict[Kind, tuple[str, ...]] = {
    Kind.SILENCE: ("silence", "buzzer_manual_mute"),
    Kind.SELF_TEST: ("test", "self_test"),
}


def z2m_shows(kind: Kind, state: dict[str, Any]) -> bool:
    """True when a zigbee2mqtt state message shows ``kind`` took effect."""
    for name in Z2M_EFFECT.get(kind, ()):
        value = state.get(name)
        if value is True or (isinstance(value, str) and value.lower() in ("on", "checking")):
            return True
    return False
