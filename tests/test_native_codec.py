"""The native protocol decoder, case by case (docs/protocol.md)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codecs import native
from core.domain import EventType, Priority
from core.errors import DecodeError
from core.records import Event, Reading

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PREFIX = "smokewatch/v1"


def decode(kind: str, payload: bytes, device: str = "NZ-H0001") -> Reading | Event:
    topic = native.parse_topic(f"{PREFIX}/{device}/{kind}", PREFIX)
    return native.decode(topic, payload, NOW, max_bytes=4096)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ('"2026-11-26T11:59:00+00:00"', datetime(2026, 11, 26, 11, 59, tzinfo=UTC)),
        ('"2026-11-26T19:59:00+08:00"', datetime(2026, 11, 26, 11, 59, tzinfo=UTC)),
        ("1795694340", datetime(2026, 11, 26, 11, 59, tzinfo=UTC)),
        ("1795694340000", datetime(2026, 11, 26, 11, 59, tzinfo=UTC)),
        ("1795694340.5", datetime(2026, 11, 26, 11, 59, 0, 500000, tzinfo=UTC)),
    ],
)
def test_decode_timestamp_forms(ts: str, expected: datetime) -> None:
    record = decode("telemetry", f'{{"ts": {ts}, "seq": 1}}'.encode())
    assert record.ts == expected


def test_decode_telemetry_maps_fields_and_keeps_unknown_ones() -> None:
    record = decode(
        "telemetry",
        b'{"seq": 7, "smoke_obscuration": 0.12, "temperature": 21.5, "battery": 88,'
        b' "battery_mv": 2950, "signal": -71, "firmware": "1.4.2", "humidity": 40}',
    )
    assert isinstance(record, Reading)
    assert (record.smoke_obscuration, record.temperature_c, record.battery_pct) == (
        0.12,
        21.5,
        88.0,
    )
    assert (record.battery_mv, record.signal_dbm, record.firmware) == (2950, -71, "1.4.2")
    assert record.msg_key == 7
    assert record.extra == {"humidity": 40}
    assert record.ts == NOW  # no ts: receive time


def test_decode_alarm_is_fire_priority() -> None:
    record = decode("event", b'{"type": "alarm", "seq": 3, "smoke_obscuration": 4.5}')
    assert isinstance(record, Event)
    assert record.type is EventType.ALARM
    assert record.priority is Priority.FIRE
    assert record.telemetry is not None and record.telemetry.smoke_obscuration == 4.5


def test_decode_alarm_with_bad_field_is_kept_with_the_field_set_aside() -> None:
    record = decode("event", b'{"type": "alarm", "seq": 3, "battery": "low"}')
    assert isinstance(record, Event) and record.type is EventType.ALARM
    assert record.data == {"rejected_fields": {"battery": "must be a number, got str"}}


def test_decode_future_clock_falls_back_to_receive_time() -> None:
    future = (NOW + timedelta(days=2)).isoformat()
    record = decode("telemetry", f'{{"ts": "{future}", "seq": 1}}'.encode())
    assert record.ts == NOW
    assert isinstance(record, Reading) and record.extra is not None
    assert record.extra["clock_suspect"] is True


def test_decode_same_bytes_give_same_key_without_seq() -> None:
    a = decode("telemetry", b'{"ts": 1795694340, "battery": 50}')
    b = decode("telemetry", b'{"ts": 1795694340, "battery": 50}')
    c = decode("telemetry", b'{"ts": 1795694340, "battery": 51}')
    assert a.msg_key == b.msg_key != c.msg_key


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        (b"online", EventType.ONLINE),
        (b"OFFLINE", EventType.OFFLINE),
        (b'{"state": "online"}', EventType.ONLINE),
    ],
)
def test_decode_status_forms(payload: bytes, state: EventType) -> None:
    record = decode("status", payload)
    assert isinstance(record, Event) and record.type is state


@pytest.mark.parametrize(
    ("topic", "code"),
    [
        ("other/NZ-1/event", "bad_topic"),
        (f"{PREFIX}/NZ-1/event/extra", "bad_topic"),
        (f"{PREFIX}/NZ-1/commands", "bad_topic"),
        (f"{PREFIX}/-bad/event", "bad_device_id"),
        (f"{PREFIX}/{'x' * 65}/event", "bad_device_id"),
    ],
)
def test_parse_topic_rejects(topic: str, code: str) -> None:
    with pytest.raises(DecodeError) as err:
        native.parse_topic(topic, PREFIX)
    assert err.value.code == code


@settings(deadline=None)
@given(st.binary(max_size=300), st.sampled_from(native.KINDS))
def test_decode_never_raises_anything_but_decode_error(payload: bytes, kind: str) -> None:
    topic = native.Topic("NZ-H0001", kind)
    with contextlib.suppress(DecodeError):
        native.decode(topic, payload, NOW, max_bytes=256)


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["ts", "seq", "type", "battery", "signal", "temperature", "firmware", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    )
)
def test_decode_json_objects_never_crash(body: dict[str, object]) -> None:
    try:
        payload = orjson.dumps(body)
    except TypeError:
        return
    for kind in native.KINDS:
        with contextlib.suppress(DecodeError):
            native.decode(native.Topic("NZ-H0001", kind), payload, NOW, max_bytes=4096)
