"""What a lane hands to its writer: one received MQTT message, already decoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
