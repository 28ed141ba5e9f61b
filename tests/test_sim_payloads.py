"""What the simulator publishes is what core.codecs.native accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.codecs import native
from core.domain import EventType
from core.records import Event, Reading
from device_sim.detector import Detector, build_fleet, numbered_ids, programme_ids
from device_sim.malformed import tolerated_messages
from device_sim.protocol import OutMessage, TsFormat

PREFIX = "smokewatch/v1"
NOW = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


def decode(message: OutMessage, received_at: datetime = NOW) -> Reading | Event:
    topic = native.parse_topic(message.topic, PREFIX)
    return native.decode(topic, message.payload, received_at, max_bytes=16 * 1024)


@pytest.mark.parametrize("fmt", list(TsFormat))
def test_decode_telemetry_every_ts_format(fmt: TsFormat) -> None:
    det = Detector("NZ-H0001", PREFIX, ts_format=fmt)
    sent_at = NOW - timedelta(seconds=30)
    record = decode(det.telemetry(sent_at))
    assert isinstance(record, Reading)
    assert record.device_id == "NZ-H0001"
    assert record.msg_key == 0
    # Millisecond precision on the wire; without ts the receive time stands in.
    expected = NOW if fmt is TsFormat.NONE else sent_at
    assert abs((record.ts - expected).total_seconds()) < 0.001
    assert record.battery_pct == pytest.approx(det.battery_pct, abs=0.05)
    assert record.battery_mv is not None and 2600 <= record.battery_mv <= 3000
    assert record.signal_dbm is not None and -120 <= record.signal_dbm <= -40
    assert record.temperature_c == pytest.approx(det.temperature_c, abs=0.05)
    assert record.firmware == det.firmware
    assert record.extra is None


def test_decode_events_with_their_readings() -> None:
    det = Detector("NZ-V0007", PREFIX)
    for seq, event_type in enumerate(
        t.value for t in EventType if t not in (EventType.ONLINE, EventType.OFFLINE)
    ):
        record = decode(det.event(event_type, NOW, smoke_obscuration=3.5, temperature=30.0))
        assert isinstance(record, Event)
        assert (record.type, record.msg_key) == (event_type, seq)
        assert record.telemetry is not None and record.telemetry.smoke_obscuration == 3.5
        assert record.data is None  # nothing set aside, nothing unknown


@pytest.mark.parametrize("state", ["online", "offline"])
def test_decode_status_plain_text(state: str) -> None:
    message = Detector("NZ-H0002", PREFIX).status(state)  # type: ignore[arg-type]
    assert message.retain
    record = decode(message)
    assert isinstance(record, Event)
    assert record.type == state


def test_decode_a_day_of_a_fleet_with_drifting_sensors() -> None:
    fleet = build_fleet(programme_ids("NZ", 20, 10), topic_prefix=PREFIX, seed=7)
    assert {d.ts_format for d in fleet} >= {
        TsFormat.ISO_UTC,
        TsFormat.ISO_CST,
        TsFormat.EPOCH_MS,
        TsFormat.EPOCH_S,
    }
    for hour in range(24):
        now = NOW - timedelta(hours=24 - hour)
        for det in fleet:
            det.tick(now)
            record = decode(det.telemetry(now))
            assert isinstance(record, Reading)
            assert record.msg_key == hour


def test_build_ids_of_the_programme_and_of_large_fleets() -> None:
    ids = programme_ids()
    assert len(ids) == 414
    assert ids[0] == ("NZ-H0001", "household") and ids[282] == ("NZ-H0283", "household")
    assert ids[283] == ("NZ-V0001", "venue") and ids[-1] == ("NZ-V0131", "venue")
    large = numbered_ids("LOAD", 10_000)
    assert large[0] == "LOAD-000001" and large[-1] == "LOAD-010000" and len(set(large)) == 10_000
    for device_id in [i for i, _ in ids] + large[:5]:
        native.parse_topic(f"{PREFIX}/{device_id}/telemetry", PREFIX)


def test_build_same_fleet_from_same_seed() -> None:
    first = build_fleet(programme_ids("NZ", 3, 1), topic_prefix=PREFIX, seed=1)
    again = build_fleet(programme_ids("NZ", 3, 1), topic_prefix=PREFIX, seed=1)
    other = build_fleet(programme_ids("NZ", 3, 1), topic_prefix=PREFIX, seed=2)
    payloads = [d.telemetry(NOW).payload for d in first]
    assert payloads == [d.telemetry(NOW).payload for d in again]
    assert payloads != [d.telemetry(NOW).payload for d in other]


def test_decode_tolerated_messages_are_stored_not_rejected() -> None:
    records = {m.label: decode(m) for m in tolerated_messages(PREFIX, "NZ-H0003", when=NOW)}
    alarm = records["alarm_with_bad_field"]
    assert isinstance(alarm, Event) and alarm.type == EventType.ALARM
    assert alarm.data is not None and "battery" in alarm.data["rejected_fields"]
    extra = records["unknown_extra_fields"]
    assert isinstance(extra, Reading) and extra.extra == {"humidity": 41, "vendor": {"x": 1}}
    ahead = records["device_clock_ahead"]
    assert (
        isinstance(ahead, Reading)
        and ahead.ts == NOW
        and ahead.extra
        and ahead.extra["clock_suspect"]
    )
    assert records["no_timestamp"].ts == NOW
