"""Small helpers the codec tests share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.codecs.types import Codec, Decoded, Message
from core.domain import EventType
from core.records import Event, Reading, Record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def events(decoded: Decoded) -> list[EventType]:
    """Event types in order."""
    return [r.type for r in decoded.records if isinstance(r, Event)]


def reading(decoded: Decoded) -> Reading:
    """The telemetry of a decoded message: the Reading, or the first event's telemetry."""
    for record in decoded.records:
        if isinstance(record, Reading):
            return record
        if isinstance(record, Event) and record.telemetry is not None:
            return record.telemetry
    raise AssertionError(f"no telemetry in {decoded.records!r}")


def run(
    codec: Codec,
    sequence: list[bytes],
    *,
    topic: str | None = None,
    state: Mapping[str, Any] | None = None,
) -> list[Decoded]:
    """Feed messages in order, carrying the codec state like ingest does."""
    states: dict[str, Any] = dict(state or {})
    out = []
    for body in sequence:
        message = Message(body=body, received_at=NOW, topic=topic)
        ids = codec.identify(message)
        decoded = codec.decode(message, {i: states[i] for i in ids if i in states})
        states.update(decoded.states)
        out.append(decoded)
    return out


def all_records(decoded: Decoded) -> list[Record]:
    """Records as a list (for asserting on identities)."""
    return list(decoded.records)
