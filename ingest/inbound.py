"""What a lane hands to its writer: one received MQTT message, already decoded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import DecodeError
from core.records import Event, Reading

Record = Reading | Event

# A decoder turns (topic, payload, received_at) into canonical records or raises DecodeError.
Decoder = Callable[[str, bytes, datetime], tuple[Record, ...]]


@dataclass(slots=True)
class Inbound:
    """A received message and what became of decoding it (records, or the error)."""

    mid: int
    generation: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    received_mono: float
    retained: bool
    records: tuple[Record, ...] = ()
    error: DecodeError | None = None
    device_id: str | None = None
    # Vendor formats: the codec that decodes this message inside the writer's transaction
    # (it needs the device's previous state); None for native messages, decoded at the edge.
    codec: str | None = None
    # How it arrived ("mqtt" or "http"), for dead letters; HTTP push keeps method and query.
    via: str = "mqtt"
    method: str = "POST"
    query: Mapping[str, str] = field(default_factory=dict)
