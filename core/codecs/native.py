"""The native smokewatch MQTT protocol (docs/protocol.md), decoded into canonical records.

Topics: ``<prefix>/<device_id>/{telemetry,event,status}``. Bodies are JSON objects with an
optional ``ts`` (ISO 8601 or epoch seconds/milliseconds) and ``seq`` (per-device counter).
A fire alarm is never rejected for a bad optional field: such fields are set aside in
``data["rejected_fields"]`` and the alarm goes on. Telemetry with a bad field is rejected whole.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from core.domain import DEVICE_ID_PATTERN, PRIORITY, EventType
from core.errors import DecodeError
from core.records import Event, Reading

SOURCE: Final = "native"
KINDS: Final = ("telemetry", "event", "status")

# Device clocks outside this window are not trusted: we keep the device's value in the
# record and order by receive time instead (domain.md: keep both, alert on receive).
MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
MAX_PAST_AGE: Final = timedelta(days=400)
_EPOCH_MS_THRESHOLD: Final = 100_000_000_000  # numbers above this are milliseconds
_INT64_MAX: Final = 2**63 - 1

# name on the wire -> (record field, kind, lower bound, upper bound)
_TELEMETRY_FIELDS: Final[dict[str, tuple[str, type, float, float]]] = {
    "smoke_obscuration": ("smoke_obscuration", float, 0.0, 100.0),
    "temperature": ("temperature_c", float, -60.0, 200.0),
    "battery": ("battery_pct", float, 0.0, 100.0),
    "battery_mv": ("battery_mv", int, 0, 20_000),
    "signal": ("signal_dbm", int, -200, 0),
}
_ENVELOPE: Final = frozenset({"ts", "seq", "type", "firmware"})
_EVENT_TYPES: Final = {
    e.value: e for e in EventType if e not in (EventType.ONLINE, EventType.OFFLINE)
}


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed native topic."""

    device_id: str
    kind: str


def parse_topic(topic: str, prefix: str) -> Topic:
    """Split ``<prefix>/<device_id>/<kind>``; raise DecodeError for anything else."""
    head = prefix + "/"
    if not topic.startswith(head):
        raise DecodeError("bad_topic", f"topic {topic!r} is outside {prefix!r}")
    rest = topic[len(head) :].split("/")
    if len(rest) != 2:
        raise DecodeError("bad_topic", f"topic {topic!r} is not <prefix>/<device_id>/<kind>")
    device_id, kind = rest
    if not DEVICE_ID_PATTERN.match(device_id):
        raise DecodeError("bad_device_id", f"device id {device_id[:80]!r} is not allowed")
    if kind not in KINDS:
        raise DecodeError("bad_topic", f"unknown message kind {kind[:40]!r}")
    return Topic(device_id, kind)


def decode(
    topic: Topic, payload: bytes, received_at: datetime, *, max_bytes: int
) -> Reading | Event:
    """Decode one message already routed by :func:`parse_topic`."""
    if len(payload) > max_bytes:
        raise DecodeError("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    if topic.kind == "status":
        return _decode_status(topic.device_id, payload, received_at)
    body = _json_object(payload)
    ts, clock_suspect = _timestamp(body.get("ts"), received_at)
    msg_key = _message_key(body.get("seq"), payload)
    if topic.kind == "telemetry":
        values, rejected = _telemetry_values(body)
        if rejected:
            field, why = next(iter(rejected.items()))
            raise DecodeError("wrong_type", f"field {field!r} {why}")
        extra = _extra(body, clock_suspect)
        return Reading(topic.device_id, ts, received_at, msg_key, extra=extra, **values)
    return _decode_event(
        topic.device_id,
        body=body,
        ts=ts,
        received_at=received_at,
        msg_key=msg_key,
        clock_suspect=clock_suspect,
    )


def _decode_event(
    device_id: str,
    *,
    body: dict[str, Any],
    ts: datetime,
    received_at: datetime,
    msg_key: int,
    clock_suspect: bool,
) -> Event:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise DecodeError("missing_type", "an event needs a string field 'type'")
    event_type = _EVENT_TYPES.get(kind)
    if event_type is None:
        raise DecodeError("unknown_event_type", f"unknown event type {kind[:40]!r}")
    values, rejected = _telemetry_values(body)
    extra = _extra(body, clock_suspect) or {}
    if rejected:
        extra["rejected_fields"] = rejected
    telemetry = Reading(device_id, ts, received_at, msg_key, **values) if values else None
    return Event(
        device_id=device_id,
        type=event_type,
        priority=PRIORITY[event_type],
        ts=ts,
        received_at=received_at,
        msg_key=msg_key,
        source=SOURCE,
        data=extra or None,
        raw=body,
        telemetry=telemetry,
    )


def _decode_status(device_id: str, payload: bytes, received_at: datetime) -> Event:
    text = payload.strip()
    state: object
    if text.startswith(b"{"):
        state = _json_object(payload).get("state")
    else:
        try:
            state = text.decode("ascii").lower()
        except UnicodeDecodeError as exc:
            raise DecodeError("bad_encoding", "status payload is not ASCII") from exc
    if state not in ("online", "offline"):
        raise DecodeError("bad_status", "status must be 'online' or 'offline'")
    event_type = EventType.ONLINE if state == "online" else EventType.OFFLINE
    return Event(
        device_id=device_id,
        type=event_type,
        priority=PRIORITY[event_type],
        ts=received_at,
        received_at=received_at,
        msg_key=_message_key(None, payload),
        source=SOURCE,
        data={"connection": state},
    )


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("bad_encoding", "payload is not valid UTF-8") from exc
        raise DecodeError("bad_json", f"payload is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise DecodeError(
            "not_an_object", f"payload must be a JSON object, got {type(body).__name__}"
        )
    return body


def _timestamp(value: object, received_at: datetime) -> tuple[datetime, bool]:
    """Return (event time, clock_suspect)."""
    if value is None:
        return received_at, False
    if isinstance(value, bool):
        raise DecodeError("bad_timestamp", "'ts' must be ISO 8601 text or epoch seconds/ms")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DecodeError("bad_timestamp", "'ts' is not a finite number")
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
        try:
            ts = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise DecodeError("bad_timestamp", f"'ts' {value!r} is out of range") from exc
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value[:40])
        except ValueError as exc:
            raise DecodeError("bad_timestamp", f"'ts' {value[:40]!r} is not ISO 8601") from exc
        if ts.tzinfo is None:
            raise DecodeError("bad_timestamp", "'ts' must carry a UTC offset")
    else:
        raise DecodeError("bad_timestamp", "'ts' must be ISO 8601 text or epoch seconds/ms")
    if ts > received_at + MAX_FUTURE_SKEW or ts < received_at - MAX_PAST_AGE:
        return received_at, True
    return ts, False


def _message_key(seq: object, payload: bytes) -> int:
    if seq is None:
        digest = hashlib.blake2b(payload, digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _INT64_MAX:
        raise DecodeError("bad_seq", "'seq' must be a non-negative 64-bit integer")
    return seq


def _telemetry_values(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    for wire, (field, kind, low, high) in _TELEMETRY_FIELDS.items():
        raw = body.get(wire)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            rejected[wire] = f"must be a number, got {type(raw).__name__}"
            continue
        if not (low <= raw <= high):  # also false for NaN
            rejected[wire] = f"must be between {low} and {high}"
            continue
        values[field] = int(raw) if kind is int else float(raw)
    firmware = body.get("firmware")
    if firmware is not None:
        if isinstance(firmware, str) and len(firmware) <= 64:
            values["firmware"] = firmware
        else:
            rejected["firmware"] = "must be text of at most 64 characters"
    return values, rejected


def _extra(body: dict[str, Any], clock_suspect: bool) -> dict[str, Any] | None:
    extra = {k: v for k, v in body.items() if k not in _ENVELOPE and k not in _TELEMETRY_FIELDS}
    if clock_suspect:
        extra["device_ts"] = body.get("ts")
        extra["clock_suspect"] = True
    return extra or None
