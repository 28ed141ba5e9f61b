"""Validated records that codecs produce and services store. Frozen: parse once, trust after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.domain import EventType, Priority


@dataclass(frozen=True, slots=True)
class Reading:
    """One telemetry sample."""

    device_id: str
    ts: datetime
    received_at: datetime
    msg_key: int
    smoke_obscuration: float | None = None
    temperature_c: float | None = None
    battery_pct: float | None = None
    battery_mv: int | None = None
    signal_dbm: int | None = None
    firmware: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One canonical event; ``telemetry`` holds values the device sent along with it."""

    device_id: str
    type: EventType
    priority: Priority
    ts: datetime
    received_at: datetime
    msg_key: int
    source: str = "native"
    data: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None
    telemetry: Reading | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Input that could not be accepted, with the reason, kept byte for byte."""

    source: str
    received_at: datetime
    reason_code: str
    reason: str
    payload: bytes
    topic: str | None = None
    device_id: str | None = None


Record = Reading | Event
