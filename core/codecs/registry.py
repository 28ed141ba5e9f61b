"""The codec registry: codec name -> codec, one per vendor format, and how a codec is run.

A codec (the protocol and its types: :mod:`core.codecs.types`) is a pure function of one
inbound message and the previous codec state of the devices it names. It returns canonical
records (core.records) or raises :class:`core.errors.DecodeError`; it never touches the
network, the database or the clock (the receive time comes in the message).

How a service calls it (the same for MQTT subscriptions and HTTP push endpoints)::

    registry = default_registry(CodecConfig(onenet_token=settings.onenet_token, ...))
    codec = registry.for_topic(topic)        # MQTT: the codec owning this topic tree
    codec = registry.get(name)               # HTTP: GET|POST /ingest/<name>
    message = Message(body=payload, received_at=now, topic=topic)  # HTTP: method=, query=
    outcome = run_codec(codec, message, load_states=..., lookup_devices=...)
    # DecodeError -> dead letter (source=codec.name, reason_code=exc.code), as for native.
    # In one transaction: store outcome.records (device ids already bound), save
    # outcome.decoded.states, file outcome.unregistered under unregistered_devices with the raw
    # message; then answer outcome.decoded.reply (OneNET's echo) or a plain 200.

``run_codec`` is the whole protocol in four steps, each usable alone: ``identify`` (external ids
the message names: friendly name, devEui, CTWing deviceId, OneNET product/device), load their
codec states, ``decode``, and :func:`bind` the records to ids from ``device_identities``
(codec = codec name, external_id).

- ``Decoded.records`` carry the *external* id in ``device_id`` until :func:`bind` swaps in the
  registered device id (codecs cannot look identities up: they are pure).
- ``Decoded.states`` is JSON-serialisable and small (the previous flags for transitions); store
  it per (codec, external id) and pass it back next time. Unknown or missing state is safe.
- ``Decoded.dedupe_key`` (HTTP push) is the idempotency key of the whole request: CTWing's
  uplink sequence number or a content hash, OneNET's message id. Keys based on sequence numbers
  must expire (about a day): devices restart their counters.
- ``Decoded.reply`` is the exact body to answer with (OneNET URL verification echoes ``msg``).
- ``Decoded.gateway`` reports a gateway's own availability (zigbee2mqtt bridge state); it is not
  a device record.
- ``Decoded.announcements`` are device descriptions (Home Assistant discovery configs) that
  ingest keeps for the installers' list of discovered devices (``ha_entities``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.codecs.battery import PROFILE_KEY, strip_profile
from core.codecs.chirpstack import ChirpStackCodec
from core.codecs.ctwing import CtwingCodec
from core.codecs.homeassistant import HomeAssistantCodec
from core.codecs.onenet import OneNetCodec
from core.codecs.thing_model import PropertyMap
from core.codecs.types import Codec, Decoded, Message, State
from core.codecs.zigbee2mqtt import Zigbee2MqttCodec
from core.errors import DecodeError
from core.records import Event, Reading, Record

# The vendor codecs a service may enable (SMOKEWATCH_INGEST_CODECS).
CodecName = Literal["zigbee2mqtt", "chirpstack", "ctwing", "onenet", "homeassistant"]


@dataclass(frozen=True, slots=True)
class CodecConfig:
    """Deployment settings the codecs need; services fill it from their settings class."""

    zigbee2mqtt_base_topic: str = "zigbee2mqtt"
    chirpstack_topic_prefix: str = "application"
    onenet_token: str | None = None
    # Development only: accept OneNET pushes without checking their signature.
    onenet_verify: bool = True
    max_bytes: int = 65536
    # Per-product property names (product id -> map) for thing-model payloads.
    ctwing_property_maps: Mapping[str, PropertyMap] = field(default_factory=dict)
    onenet_property_maps: Mapping[str, PropertyMap] = field(default_factory=dict)
    # Home Assistant MQTT discovery: the prefix, and the state topics to subscribe to (the
    # firmware's own topics; ESPHome's default is <node>/<component>/<object_id>/state).
    homeassistant_discovery_prefix: str = "homeassistant"
    homeassistant_state_topics: tuple[str, ...] = ("+/binary_sensor/+/state", "+/sensor/+/state")


class CodecRegistry:
    """Codecs by name, and by MQTT topic for the subscribing side."""

    def __init__(self, codecs: list[Codec]) -> None:
        self._codecs: dict[str, Codec] = {}
        for codec in codecs:
            if codec.name in self._codecs:
                raise ValueError(f"codec {codec.name!r} registered twice")
            self._codecs[codec.name] = codec

    def names(self) -> tuple[str, ...]:
        """Registered codec names."""
        return tuple(self._codecs)

    def get(self, name: str) -> Codec:
        """The codec called ``name``; DecodeError for an unknown name (an HTTP path segment)."""
        codec = self._codecs.get(name)
        if codec is None:
            raise DecodeError("unknown_codec", f"no codec named {name[:40]!r}")
        return codec

    def for_topic(self, topic: str) -> Codec:
        """The MQTT codec owning ``topic``; DecodeError when none does."""
        for codec in self._codecs.values():
            if codec.transport == "mqtt" and codec.owns_topic(topic):
                return codec
        raise DecodeError("bad_topic", f"no codec owns topic {topic[:80]!r}")

    def mqtt_filters(self) -> tuple[str, ...]:
        """Every MQTT subscription filter the registered codecs need."""
        return tuple(f for c in self._codecs.values() for f in c.topic_filters)


def bind(records: tuple[Record, ...], device_ids: Mapping[str, str]) -> tuple[Record, ...]:
    """Replace provisional external ids with registered device ids; unmapped records are dropped.

    Dropped records belong to unregistered identities: the caller files those under
    ``unregistered_devices`` with the raw message instead.
    """
    out: list[Record] = []
    for record in records:
        device_id = device_ids.get(record.device_id)
        if device_id is None:
            continue
        if isinstance(record, Event) and record.telemetry is not None:
            telemetry: Reading | None = dataclasses.replace(record.telemetry, device_id=device_id)
            out.append(dataclasses.replace(record, device_id=device_id, telemetry=telemetry))
        else:
            out.append(dataclasses.replace(record, device_id=device_id))
    return tuple(out)


def default_registry(config: CodecConfig | None = None) -> CodecRegistry:
    """The vendor codecs, configured; the native protocol keeps its own ingest path."""
    config = config or CodecConfig()
    return CodecRegistry(
        [
            Zigbee2MqttCodec(base_topic=config.zigbee2mqtt_base_topic, max_bytes=config.max_bytes),
            ChirpStackCodec(prefix=config.chirpstack_topic_prefix, max_bytes=config.max_bytes),
            CtwingCodec(product_maps=config.ctwing_property_maps, max_bytes=config.max_bytes),
            OneNetCodec(
                token=config.onenet_token,
                verify=config.onenet_verify,
                product_maps=config.onenet_property_maps,
                max_bytes=config.max_bytes,
            ),
            # Last: its state filters are broad, so the formats above keep their own topics.
            HomeAssistantCodec(
                discovery_prefix=config.homeassistant_discovery_prefix,
                state_filters=config.homeassistant_state_topics,
                max_bytes=config.max_bytes,
            ),
        ]
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decoded message bound to registered devices, ready to store."""

    decoded: Decoded
    records: tuple[Record, ...]
    unregistered: tuple[str, ...]


def run_codec(
    codec: Codec,
    message: Message,
    *,
    load_states: Callable[[str, Sequence[str]], Mapping[str, State]],
    lookup_devices: Callable[[str, Sequence[str]], Mapping[str, str]],
    load_profiles: Callable[[str, Sequence[str]], Mapping[str, dict[str, Any]]] | None = None,
) -> Outcome:
    """Identify, load states, decode, bind: the steps every caller of a codec takes.

    ``load_states(codec_name, external_ids)`` returns the stored states it has;
    ``lookup_devices(codec_name, external_ids)`` returns external id -> registered device id
    (one query each, for batches); ``load_profiles`` (optional) returns external id -> what the
    registered model says the codec needs (battery thresholds, core.codecs.battery), lent to
    the codec inside the state under ``profile`` and stripped from the states it returns.
    Raises only DecodeError (and whatever the callables raise).
    """
    ids = codec.identify(message)
    states = load_states(codec.name, ids) if ids else {}
    profiles = load_profiles(codec.name, ids) if ids and load_profiles is not None else {}
    if profiles:
        states = {
            **states,
            **{i: {**states.get(i, {}), PROFILE_KEY: p} for i, p in profiles.items()},
        }
    decoded = codec.decode(message, states)
    if profiles and decoded.states:
        decoded = dataclasses.replace(
            decoded, states={i: strip_profile(s) for i, s in decoded.states.items()}
        )
    known = lookup_devices(codec.name, decoded.external_ids) if decoded.external_ids else {}
    unregistered = tuple(i for i in decoded.external_ids if i not in known)
    return Outcome(decoded, bind(decoded.records, known), unregistered)
