"""What a codec is: the message it reads, what it returns, and the protocol it follows.

The concrete codecs (core.codecs.zigbee2mqtt, chirpstack, ctwing, onenet, homeassistant) import
these types; :mod:`core.codecs.registry` imports the codecs and runs them. How the pieces are
used is described in the registry's docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from core.records import Record

State = Mapping[str, Any]
Transport = Literal["mqtt", "http"]


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound message as the transport delivered it."""

    body: bytes
    received_at: datetime
    topic: str | None = None
    method: str = "POST"
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """A gateway's own availability, e.g. the zigbee2mqtt bridge going offline."""

    gateway_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class Announcement:
    """Entities a device announced on ``topic`` (Home Assistant discovery); empty: withdrawn."""

    topic: str
    entities: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a codec made of one message."""

    records: tuple[Record, ...] = ()
    external_ids: tuple[str, ...] = ()
    states: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    dedupe_key: str | None = None
    reply: bytes | None = None
    gateway: GatewayStatus | None = None
    note: str | None = None
    announcements: tuple[Announcement, ...] = ()


class Codec(Protocol):
    """A vendor format: name, transport, and the two pure functions a service calls."""

    @property
    def name(self) -> str:
        """Registry key; also ``device_models.codec`` and ``device_identities.codec``."""
        ...

    @property
    def transport(self) -> Transport:
        """``mqtt`` (subscribe to ``topic_filters``) or ``http`` (``POST /ingest/<name>``)."""
        ...

    @property
    def topic_filters(self) -> tuple[str, ...]:
        """MQTT subscription filters; empty for HTTP codecs."""
        ...

    def owns_topic(self, topic: str) -> bool:
        """True when an MQTT topic belongs to this codec's tree."""
        ...

    def identify(self, message: Message) -> tuple[str, ...]:
        """External ids whose previous state ``decode`` needs (cheap; DecodeError if unreadable)."""
        ...

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """Canonical records for ``message`` given the previous state of each external id."""
        ...


class HttpPushCodec:
    """Base of the codecs a carrier platform reaches by HTTP push: they own no MQTT topic."""

    transport: Transport = "http"
    topic_filters: tuple[str, ...] = ()

    def owns_topic(self, topic: str) -> bool:
        """Never: HTTP only."""
        return False
