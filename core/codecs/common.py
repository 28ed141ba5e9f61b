"""Helpers every vendor codec shares: lenient parsing, vendor quirks, and state transitions.

Vendors encode the same facts in many shapes (``true``, ``1``, ``"alarm"``, ``"ON"``; battery as
%, mV, 0.1 V units or low/medium/high; numbers that arrive as strings; capitalised keys). These
functions turn such values into canonical ones and never raise anything but :class:`DecodeError`.

Flags and transitions: state-style formats (zigbee2mqtt republishes the full state on every
change) only say "smoke is true", so an alarm is the *change* from false to true. The previous
flags are the codec state that ingest keeps per external identity and passes back in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from core.domain import PRIORITY, EventType
from core.errors import DecodeError
from core.records import Event, Reading

# Device clocks outside this window are not trusted (same rule as the native codec).
MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
MAX_PAST_AGE: Final = timedelta(days=400)
_EPOCH_MS_THRESHOLD: Final = 100_000_000_000

FLAGS: Final = ("alarm", "heat", "tamper", "battery_low", "fault", "test", "silenced")

# flag -> (event when it becomes true, event when it becomes false)
_TRANSITIONS: Final[dict[str, tuple[EventType, EventType | None]]] = {
    "alarm": (EventType.ALARM, EventType.ALARM_CLEARED),
    "heat": (EventType.HIGH_TEMPERATURE, None),
    "tamper": (EventType.TAMPER, EventType.TAMPER_CLEARED),
    "battery_low": (EventType.LOW_BATTERY, EventType.BATTERY_OK),
    "fault": (EventType.FAULT, EventType.FAULT_CLEARED),
    "test": (EventType.TEST, None),
    "silenced": (EventType.SILENCED, None),
}

_TRUE_WORDS: Final = frozenset(
    {"true", "1", "on", "yes", "alarm", "active", "detected", "triggered", "pressed", "fire"}
)
_FALSE_WORDS: Final = frozenset(
    {"false", "0", "off", "no", "normal", "inactive", "clear", "cleared", "idle", "ok", "none"}
)
# battery_state words; "Nok" and unknown words give no information.
_BATTERY_LEVEL_LOW: Final = frozenset({"low", "critical", "empty"})
_BATTERY_LEVEL_OK: Final = frozenset({"medium", "middle", "high", "full", "normal", "ok"})
_INT64: Final = 2**63


def json_object(payload: bytes | str, *, what: str = "payload") -> dict[str, Any]:
    """Parse a JSON object; anything else is a DecodeError."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("bad_json", f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise DecodeError("not_an_object", f"{what} must be a JSON object")
    return body


def lower_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """Key lookup that ignores case: some firmware capitalises keys (``Smoke``, ``Battery``)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        out.setdefault(str(key).lower(), value)
    return out


def as_flag(value: object) -> bool | None:
    """``True``/``False`` for the many ways vendors say yes and no; None when it says neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def as_number(value: object) -> float | None:
    """A finite number, also from numeric text (``"85"``); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        text = value.strip()
        # Netvox' decoder writes "2.6(low battery)": keep the leading number.
        head = text.split("(", 1)[0].strip()
        try:
            number = float(head[:32])
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def battery_level_low(value: object) -> bool | None:
    """``battery_state`` words (low/medium/high, full/low) to a low-battery flag."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _BATTERY_LEVEL_LOW:
            return True
        if word in _BATTERY_LEVEL_OK:
            return False
    return None


@dataclass(slots=True)
class Telemetry:
    """Canonical telemetry collected from a vendor message, validated against sane ranges."""

    battery_pct: float | None = None
    battery_mv: int | None = None
    temperature_c: float | None = None
    signal_dbm: int | None = None
    smoke_obscuration: float | None = None
    firmware: str | None = None
    rejected: dict[str, str] = field(default_factory=dict)

    def set_battery_pct(self, name: str, value: object) -> None:
        """Battery in percent (0-100)."""
        number = as_number(value)
        if number is None or not 0.0 <= number <= 100.0:
            self.rejected[name] = "battery percent must be a number between 0 and 100"
            return
        self.battery_pct = number

    def set_battery_mv(self, name: str, value: object) -> None:
        """Battery voltage in millivolts."""
        number = as_number(value)
        if number is None or not 0.0 <= number <= 20_000.0:
            self.rejected[name] = "battery voltage must be between 0 and 20000 mV"
            return
        self.battery_mv = round(number)

    def set_battery_volts(self, name: str, value: object) -> None:
        """Battery voltage in volts (Netvox and some NB-IoT thing models)."""
        number = as_number(value)
        if number is None or not 0.0 <= number <= 20.0:
            self.rejected[name] = "battery voltage must be between 0 and 20 V"
            return
        self.battery_mv = round(number * 1000)

    def set_temperature(self, name: str, value: object) -> None:
        """Temperature in degrees Celsius."""
        number = as_number(value)
        if number is None or not -60.0 <= number <= 200.0:
            self.rejected[name] = "temperature must be between -60 and 200 degrees C"
            return
        self.temperature_c = number

    def set_signal(self, name: str, value: object) -> None:
        """Signal strength in dBm (RSSI); LQI is not dBm and stays in ``extra``."""
        number = as_number(value)
        if number is None or not -200.0 <= number <= 0.0:
            self.rejected[name] = "signal must be between -200 and 0 dBm"
            return
        self.signal_dbm = round(number)

    def values(self) -> dict[str, Any]:
        """The fields a :class:`Reading` takes, without the empty ones."""
        raw = {
            "battery_pct": self.battery_pct,
            "battery_mv": self.battery_mv,
            "temperature_c": self.temperature_c,
            "signal_dbm": self.signal_dbm,
            "smoke_obscuration": self.smoke_obscuration,
            "firmware": self.firmware,
        }
        return {k: v for k, v in raw.items() if v is not None}


def timestamp(value: object, received_at: datetime) -> tuple[datetime, bool]:
    """(event time, clock_suspect): ISO 8601 text or epoch s/ms; untrusted clocks fall back."""
    if value is None or isinstance(value, bool):
        return received_at, False
    ts = _parse_time(value)
    if ts is None or ts > received_at + MAX_FUTURE_SKEW or ts < received_at - MAX_PAST_AGE:
        return received_at, True
    return ts, False


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, str):
        text = value.strip()[:64]
        if not _is_ascii_digits(text):
            try:
                ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return ts if ts.tzinfo is not None else None
        value = int(text)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() accepts "²" and other digits int() refuses; 20 digits cover int64.
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def message_key(*parts: object) -> int:
    """A signed 64-bit key from stable message content (dedupe id, sequence, or the bytes)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "replace")
        digest.update(len(data).to_bytes(4, "big"))
        digest.update(data)
    return int.from_bytes(digest.digest(), "big", signed=True)


def sequence_key(value: object) -> int | None:
    """A valid non-negative sequence number as a key; None for -1, "" and other non-values."""
    number = value
    if isinstance(value, str) and _is_ascii_digits(value.strip()):
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    return number if 0 <= number < _INT64 else None


def b64decode(value: object, *, what: str) -> bytes:
    """Strict base64 (standard alphabet, padding optional)."""
    if not isinstance(value, str):
        raise DecodeError("bad_base64", f"{what} must be base64 text")
    text = value.strip()
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("bad_base64", f"{what} is not valid base64") from exc


def previous_flags(state: Mapping[str, Any] | None) -> dict[str, bool]:
    """The flags a codec stored last time; garbage in the state counts as unknown."""
    if not isinstance(state, Mapping):
        return {}
    flags = state.get("flags")
    if not isinstance(flags, Mapping):
        return {}
    return {k: v for k, v in flags.items() if k in FLAGS and isinstance(v, bool)}


@dataclass(frozen=True, slots=True)
class Transition:
    """An event derived from a flag change, with the flags to remember afterwards."""

    events: tuple[EventType, ...]
    flags: dict[str, bool]


def transitions(
    previous: Mapping[str, bool],
    observed: Mapping[str, bool | None],
    *,
    forced: Iterable[str] = (),
) -> Transition:
    """Compare observed flags with the previous ones.

    A flag that becomes true emits its event, and so does a true flag whose previous value is
    unknown (first message after installation or a lost state: a duplicate page is better than a
    missed fire). Becoming false emits the clearing event only when it was known to be true.
    ``forced`` flags emit on every true report: event-style messages ("alarm!") are not states.
    The test quirk: while ``test`` is true a smoke report is the test siren, not a fire (ZCL IAS
    Zone status bit 8 "Test"), so it is reported as TEST and never as ALARM.
    """
    forced_set = set(forced)
    flags = dict(previous)
    events: list[EventType] = []
    observed = dict(observed)
    if observed.get("test") and observed.get("alarm"):
        observed["alarm"] = None  # the siren of a test, not smoke
        forced_set.discard("alarm")
    for name in FLAGS:
        now = observed.get(name)
        if now is None:
            continue
        before = previous.get(name)
        on_event, off_event = _TRANSITIONS[name]
        if now and (before is not True or name in forced_set):
            events.append(on_event)
        elif not now and before is True and off_event is not None:
            events.append(off_event)
        flags[name] = now
    return Transition(tuple(events), flags)


def build_records(
    *,
    external_id: str,
    source: str,
    ts: datetime,
    received_at: datetime,
    msg_key: int,
    events: Iterable[EventType],
    telemetry: Telemetry,
    raw: dict[str, Any],
    extra: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> tuple[Reading | Event, ...]:
    """Events (each keeping the raw message) or, without events, one Reading keeping it.

    The telemetry travels with the first event, as the native codec does; a message without
    events becomes a Reading whose ``extra`` holds the raw message, so nothing is lost and the
    device's liveness is refreshed.
    """
    values = telemetry.values()
    extra = dict(extra or {})
    if telemetry.rejected:
        extra["rejected_fields"] = dict(telemetry.rejected)
    event_list = list(dict.fromkeys(events))  # one event per type and message
    if not event_list:
        extra["raw"] = raw
        return (Reading(external_id, ts, received_at, msg_key, extra=extra, **values),)
    reading = Reading(external_id, ts, received_at, msg_key, extra=extra or None, **values)
    out: list[Reading | Event] = []
    for index, event_type in enumerate(event_list):
        out.append(
            Event(
                device_id=external_id,
                type=event_type,
                priority=PRIORITY[event_type],
                ts=ts,
                received_at=received_at,
                msg_key=msg_key,
                source=source,
                data=dict(event_data) if event_data else None,
                raw=raw,
                telemetry=reading if index == 0 and (values or extra) else None,
            )
        )
    return tuple(out)


def presence_event(
    *,
    external_id: str,
    online: bool,
    source: str,
    ts: datetime,
    received_at: datetime,
    msg_key: int,
    raw: dict[str, Any],
    data: dict[str, Any] | None = None,
) -> Event:
    """An ONLINE/OFFLINE report from a platform; our own watchdog still decides."""
    event_type = EventType.ONLINE if online else EventType.OFFLINE
    return Event(
        device_id=external_id,
        type=event_type,
        priority=PRIORITY[event_type],
        ts=ts,
        received_at=received_at,
        msg_key=msg_key,
        source=source,
        data={
            "connection": "online" if online else "offline",
            "reported_by": source,
            **(data or {}),
        },
        raw=raw,
    )
