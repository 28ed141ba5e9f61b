"""Ingest end to end: real Mosquitto, real PostgreSQL, the service running in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from core.pg_channels import EVENTS_CHANNEL, listen_sql
from tests.support import (
    Publisher,
    count,
    ingest_handled,
    ingest_settings,
    register_devices,
    running_ingest,
    unique_prefix,
    wait_until,
)

DEVICES = [f"NZ-T{n:04d}" for n in range(50)]


def reading(seq: int, ts: datetime, **values: object) -> bytes:
    return orjson.dumps({"ts": ts.isoformat(), "seq": seq, "battery": 90, "signal": -70, **values})


def test_ingest_stores_every_message_exactly_once(database_url: str, mqtt_broker) -> None:
    prefix = unique_prefix()
    register_devices(database_url, DEVICES)
    start = datetime.now(UTC) - timedelta(minutes=1)
    handled_before = ingest_handled()
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
        with Publisher(mqtt_broker.url) as pub:
            for seq in range(40):
                for device in DEVICES:
                    pub.publish(
                        f"{prefix}/{device}/telemetry", reading(seq, start + timedelta(seconds=seq))
                    )
            for device in DEVICES[:10]:
                pub.publish(f"{prefix}/{device}/event", orjson.dumps({"type": "test", "seq": 1000}))
            # QoS 1 redeliveries and replays: the same bytes again change nothing.
            for device in DEVICES[:5]:
                pub.publish(f"{prefix}/{device}/telemetry", reading(0, start))
        # Every record published, replays included, committed (stored or skipped as a
        # duplicate): nothing is left that could still add a row.
        published = 40 * len(DEVICES) + 10 + 5
        wait_until(lambda: ingest_handled() - handled_before >= published)
    assert count(database_url, "SELECT count(*) FROM readings") == 40 * len(DEVICES)
    assert count(database_url, "SELECT count(*) FROM events WHERE type = 'test'") == 10
    assert count(database_url, "SELECT count(*) FROM pending_events") == 10
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0
    with psycopg.connect(database_url) as conn:
        state = conn.execute(
            "SELECT online, battery_pct, signal_dbm, last_reading_at, offline_deadline > now() "
            "FROM device_state WHERE device_id = %s",
            (DEVICES[0],),
        ).fetchone()
    assert state is not None
    online, battery, signal, last_reading_at, deadline_ahead = state
    assert online and battery == 90 and signal == -70 and deadline_ahead
    assert last_reading_at == start + timedelta(seconds=39)


def test_ingest_alarm_sets_state_and_wakes_alerting(database_url: str, mqtt_broker) -> None:
    prefix = unique_prefix()
    register_devices(database_url, ["NZ-H0001"])
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(listen_sql(EVENTS_CHANNEL))
        with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
            with Publisher(mqtt_broker.url) as pub:
                pub.publish(
                    f"{prefix}/NZ-H0001/event",
                    b'{"type": "alarm", "seq": 1, "smoke_obscuration": 6.1}',
                )
            notes = list(listener.notifies(timeout=10, stop_after=1))
    assert len(notes) == 1
    with psycopg.connect(database_url) as conn:
        event = conn.execute("SELECT id, type, priority FROM events").fetchone()
        state = conn.execute(
            "SELECT alarm_active, smoke_obscuration FROM device_state WHERE device_id = 'NZ-H0001'"
        ).fetchone()
    assert event is not None and notes[0].payload == str(event[0])
    assert event[1:] == ("alarm", 1)
    assert state == (True, pytest.approx(6.1))


def test_ingest_alarm_cleared_and_newer_events_win(database_url: str, mqtt_broker) -> None:
    prefix = unique_prefix()
    register_devices(database_url, ["NZ-H0002"])
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
        with Publisher(mqtt_broker.url) as pub:
            topic = f"{prefix}/NZ-H0002/event"
            pub.publish(topic, orjson.dumps({"type": "alarm", "seq": 1, "ts": t0.isoformat()}))
            pub.publish(
                topic,
                orjson.dumps(
                    {
                        "type": "alarm_cleared",
                        "seq": 3,
                        "ts": (t0 + timedelta(seconds=20)).isoformat(),
                    }
                ),
            )
            # A late message from before the clear must not re-raise the alarm flag.
            pub.publish(
                topic,
                orjson.dumps(
                    {"type": "silenced", "seq": 2, "ts": (t0 + timedelta(seconds=10)).isoformat()}
                ),
            )
        wait_until(lambda: count(database_url, "SELECT count(*) FROM events") == 3)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT alarm_active, last_event_type FROM device_state WHERE device_id = 'NZ-H0002'"
        ).fetchone()
    assert row == (False, "alarm_cleared")


def test_ingest_flags_back_online_after_watchdog(database_url: str, mqtt_broker) -> None:
    prefix = unique_prefix()
    register_devices(database_url, ["NZ-H0003"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        # What the watchdog does when a device misses its deadline.
        conn.execute(
            "UPDATE device_state SET online = false, last_seen = now() - interval '3 hours' "
            "WHERE device_id = 'NZ-H0003'"
        )
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(f"{prefix}/NZ-H0003/telemetry", b'{"seq": 5, "battery": 70}')
        wait_until(
            lambda: count(database_url, "SELECT count(*) FROM events WHERE type = 'online'") == 1
        )
    assert count(database_url, "SELECT count(*) FROM pending_events WHERE type = 'online'") == 1
    assert count(database_url, "SELECT count(*) FROM device_state WHERE online") == 1


def test_ingest_retained_status_is_stored_once(database_url: str, mqtt_broker) -> None:
    prefix = unique_prefix()
    register_devices(database_url, ["NZ-H0004"])
    settings = ingest_settings(database_url, mqtt_broker.url, prefix)
    with Publisher(mqtt_broker.url) as pub:
        pub.publish(f"{prefix}/NZ-H0004/status", b"online", retain=True)
    for _ in range(2):  # every (re)subscription replays the retained message
        with running_ingest(settings):
            wait_until(
                lambda: (
                    count(
                        database_url,
                        "SELECT count(*) FROM device_state WHERE connection = 'online'",
                    )
                    == 1
                )
            )
    assert count(database_url, "SELECT count(*) FROM events WHERE type = 'online'") == 1
    with Publisher(mqtt_broker.url) as pub:  # leave the broker clean for other tests
        pub.publish(f"{prefix}/NZ-H0004/status", b"", retain=True)
