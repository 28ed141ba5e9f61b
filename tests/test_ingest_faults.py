"""Nothing is lost when the ingest process dies or PostgreSQL goes away mid-stream."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from core.pg_channels import EVENTS_CHANNEL, listen_sql
from tests.support import (
    Publisher,
    count,
    ingest_settings,
    register_devices,
    running_ingest,
    start_ingest_process,
    unique_prefix,
    wait_until,
)

DEVICES = [f"NZ-F{n:04d}" for n in range(100)]


def stream(
    mqtt_url: str,
    prefix: str,
    rounds: int,
    *,
    alarm_at: int | None = None,
    pause_every: int = 10,
    pause_s: float = 0.02,
) -> threading.Thread:
    """Publish ``rounds`` readings per device (and optionally one alarm) in the background."""
    start = datetime.now(UTC) - timedelta(hours=1)

    def run() -> None:
        with Publisher(mqtt_url) as pub:
            for seq in range(rounds):
                ts = (start + timedelta(seconds=seq)).isoformat()
                for device in DEVICES:
                    pub.publish(
                        f"{prefix}/{device}/telemetry",
                        orjson.dumps({"ts": ts, "seq": seq, "battery": 80, "signal": -60}),
                    )
                if seq == alarm_at:
                    pub.publish(
                        f"{prefix}/{DEVICES[0]}/event",
                        orjson.dumps({"type": "alarm", "seq": 10_000, "ts": ts}),
                    )
                if seq % pause_every == 0:
                    pub.flush()
                    time.sleep(pause_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_subscribed(mqtt_url: str, prefix: str, database_url: str) -> None:
    """Messages published before the first subscription exist nowhere: probe until one lands."""
    with Publisher(mqtt_url) as pub:
        for probe in range(60):
            pub.publish(f"{prefix}/{DEVICES[-1]}/event", f'{{"type": "test", "seq": {probe}}}')
            pub.flush()
            if count(database_url, "SELECT count(*) FROM events WHERE type = 'test'"):
                return
            time.sleep(0.5)
    raise AssertionError("ingest never subscribed")


def test_ingest_killed_mid_stream_stores_everything_exactly_once(
    database_url: str, mqtt_broker, tmp_path
) -> None:
    prefix = unique_prefix()
    register_devices(database_url, DEVICES)
    settings = ingest_settings(database_url, mqtt_broker.url, prefix)
    log_path = str(tmp_path / "ingest.log")
    rounds = 150
    total = rounds * len(DEVICES)

    first = start_ingest_process(settings, log_path)
    try:
        wait_subscribed(mqtt_broker.url, prefix, database_url)
        publisher = stream(mqtt_broker.url, prefix, rounds, alarm_at=100)
        wait_until(lambda: count(database_url, "SELECT count(*) FROM readings") > 3000, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        stored_at_kill = count(database_url, "SELECT count(*) FROM readings")
        time.sleep(1.0)  # the broker queues for the dead session meanwhile
        second = start_ingest_process(settings, log_path)
        try:
            publisher.join(timeout=120)
            assert not publisher.is_alive()
            wait_until(
                lambda: count(database_url, "SELECT count(*) FROM readings") >= total, timeout=90
            )
            wait_until(lambda: count(database_url, "SELECT count(*) FROM events") >= 1, timeout=30)
            time.sleep(0.5)
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert stored_at_kill < total, "the kill happened too late to prove anything"
    assert count(database_url, "SELECT count(*) FROM readings") == total
    assert count(database_url, "SELECT count(DISTINCT (device_id, msg_key)) FROM readings") == total
    assert count(database_url, "SELECT count(*) FROM events WHERE type = 'alarm'") == 1
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0


def test_ingest_survives_postgres_restart_mid_stream(
    database_url: str, mqtt_broker, pg_server
) -> None:
    prefix = unique_prefix()
    register_devices(database_url, DEVICES)
    rounds = 120
    total = rounds * len(DEVICES)
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)):
        publisher = stream(mqtt_broker.url, prefix, rounds, alarm_at=90)
        wait_until(lambda: count(database_url, "SELECT count(*) FROM readings") > 2000, timeout=60)
        pg_server.stop()
        time.sleep(2.0)  # messages keep arriving and must wait, unacknowledged
        pg_server.start()
        publisher.join(timeout=120)
        assert not publisher.is_alive()
        wait_until(
            lambda: count(database_url, "SELECT count(*) FROM readings") >= total, timeout=90
        )
        wait_until(lambda: count(database_url, "SELECT count(*) FROM events") >= 1, timeout=30)
    assert count(database_url, "SELECT count(*) FROM readings") == total
    assert count(database_url, "SELECT count(*) FROM events WHERE type = 'alarm'") == 1


def test_ingest_commits_alarm_ahead_of_50000_queued_readings(
    database_url: str, mqtt_broker
) -> None:
    """Telemetry queued ahead of an alarm must not delay it: the alarm has its own lane."""
    prefix = unique_prefix()
    register_devices(database_url, DEVICES)
    settings = ingest_settings(database_url, mqtt_broker.url, prefix)
    # Create the persistent sessions, then go away so the broker queues for us.
    with running_ingest(settings):
        pass
    backlog = 50_000
    start = datetime.now(UTC) - timedelta(hours=2)
    with Publisher(mqtt_broker.url) as pub:
        for n in range(backlog):
            device = DEVICES[n % len(DEVICES)]
            ts = (start + timedelta(milliseconds=n)).isoformat()
            pub.publish(
                f"{prefix}/{device}/telemetry", orjson.dumps({"ts": ts, "seq": n, "battery": 77})
            )
            if n % 5000 == 0:
                pub.flush()
        pub.publish(f"{prefix}/{DEVICES[1]}/event", b'{"type": "alarm", "seq": 1}')
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(listen_sql(EVENTS_CHANNEL))
        with running_ingest(settings):
            notes = list(listener.notifies(timeout=30, stop_after=1))
            readings_when_alarm_committed = count(database_url, "SELECT count(*) FROM readings")
            wait_until(
                lambda: count(database_url, "SELECT count(*) FROM readings") >= backlog, timeout=120
            )
        row = listener.execute(
            "SELECT extract(epoch FROM stored_at - received_at) * 1000"
            " FROM events WHERE type = 'alarm'"
        ).fetchone()
    assert len(notes) == 1
    assert readings_when_alarm_committed < backlog // 2
    assert row is not None
    queued = backlog - readings_when_alarm_committed
    print(f"alarm receive->insert {row[0]:.1f} ms with {queued} readings still queued")
