"""Simulator -> Mosquitto -> ingest -> PostgreSQL, counted exactly against the simulation."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from core.codecs import native
from core.records import Reading
from device_sim.cli_entry import SimOptions, make_fleet, run
from device_sim.registration import register_devices
from device_sim.settings import SimSettings
from tests.support import count, ingest_settings, running_ingest, wait_until

NOW = datetime.now(UTC)


def test_simulated_programme_is_stored_exactly(
    database_url: str, mqtt_broker, topic_prefix: str
) -> None:
    settings = SimSettings(mqtt_url=mqtt_broker.url, topic_prefix=topic_prefix, environment="test")
    options = SimOptions(
        households=40, venues=10, heartbeat_seconds=600, realtime=False, sim_seconds=6 * 3600,
        duration=None, ts_format="iso", record=True,
        scenarios=("fire", "nuisance:2", "battery", "tamper", "duplicate:3", "malformed"),
    )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        register_devices(conn, [d.device_id for d in make_fleet(settings, options)])

    with running_ingest(ingest_settings(database_url, mqtt_broker.url, topic_prefix)):
        report = run(settings, options)
        assert report.published == report.acked == report.sent
        messages = report.messages or []
        stored = [m for m in messages if m.expect == "store"]
        dead = [m for m in messages if m.expect == "dead_letter"]
        events = sum(1 for m in stored if m.topic.endswith("/event"))
        wait_until(lambda: count(database_url, "SELECT count(*) FROM dead_letters") >= len(dead))
        wait_until(lambda: count(database_url, "SELECT count(*) FROM events") >= events)

    # Expected readings: telemetry messages plus events that carry telemetry values, each once.
    readings = set()
    for m in stored:
        record = native.decode(
            native.parse_topic(m.topic, topic_prefix), m.payload, NOW, max_bytes=16384
        )
        reading = record if isinstance(record, Reading) else record.telemetry
        if reading is not None:
            readings.add((reading.device_id, reading.ts, reading.msg_key))
    assert report.expected["duplicate"] >= 3
    assert count(database_url, "SELECT count(*) FROM events") == events
    assert count(database_url, "SELECT count(*) FROM dead_letters") == len(dead)
    assert count(database_url, "SELECT count(*) FROM readings") == len(readings)
    fires = count(database_url, "SELECT count(*) FROM events WHERE type = 'alarm'")
    assert fires == report.by_event["alarm"]
    assert count(database_url, "SELECT count(*) FROM pending_events") == events
