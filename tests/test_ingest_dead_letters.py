"""Every kind of bad input is parked with its reason, and the service keeps going."""

from __future__ import annotations

import orjson
import psycopg

from tests.support import (
    Publisher,
    count,
    ingest_settings,
    register_devices,
    running_ingest,
    unique_prefix,
    wait_until,
)

GOOD = "NZ-H0100"

# (topic suffix, payload, expected reason code): at least twenty kinds of malformed input.
CASES: list[tuple[str, bytes, str]] = [
    (f"{GOOD}/event", b"\xff\xfe\xfd", "bad_encoding"),
    (f"{GOOD}/event", b'{"type": "alarm",', "bad_json"),
    (f"{GOOD}/event", b"[1, 2, 3]", "not_an_object"),
    (f"{GOOD}/event", b'"alarm"', "not_an_object"),
    (f"{GOOD}/event", b"null", "not_an_object"),
    (f"{GOOD}/event", b"[" * 5000 + b"]" * 5000, "bad_json"),
    (f"{GOOD}/event", b'{"seq": 1}', "missing_type"),
    (f"{GOOD}/event", b'{"type": 5}', "missing_type"),
    (f"{GOOD}/event", b'{"type": "meltdown"}', "unknown_event_type"),
    (f"{GOOD}/event", b'{"type": "alarm", "ts": "yesterday"}', "bad_timestamp"),
    (f"{GOOD}/event", b'{"type": "alarm", "ts": "2026-11-26T10:00:00"}', "bad_timestamp"),
    (f"{GOOD}/event", b'{"type": "alarm", "ts": true}', "bad_timestamp"),
    (f"{GOOD}/event", b'{"type": "alarm", "ts": 1e300}', "bad_timestamp"),
    (f"{GOOD}/event", b'{"type": "alarm", "seq": -1}', "bad_seq"),
    (f"{GOOD}/event", b'{"type": "alarm", "seq": "7"}', "bad_seq"),
    (f"{GOOD}/event", b'{"type": "alarm", "seq": 99999999999999999999}', "bad_seq"),
    (f"{GOOD}/telemetry", b'{"battery": "full"}', "wrong_type"),
    (f"{GOOD}/telemetry", b'{"battery": 250}', "wrong_type"),
    (f"{GOOD}/telemetry", b'{"signal": true}', "wrong_type"),
    (f"{GOOD}/telemetry", b'{"firmware": ' + b'"v' * 1 + b"x" * 100 + b'"}', "wrong_type"),
    (f"{GOOD}/telemetry", b'{"pad": "' + b"x" * 20000 + b'"}', "too_large"),
    (f"{GOOD}/status", b"sleeping", "bad_status"),
    (f"{GOOD}/status", b"\xff", "bad_encoding"),
    ("bad..id!/event", b'{"type": "alarm"}', "bad_device_id"),
    ("NZ-NOBODY/event", b'{"type": "alarm", "seq": 1}', "unknown_device"),
    ("NZ-NOBODY/telemetry", b'{"seq": 1, "battery": 50}', "unknown_device"),
]


def test_ingest_dead_letters_malformed_input_and_keeps_running(
    database_url: str, mqtt_broker
) -> None:
    prefix = unique_prefix()
    register_devices(database_url, [GOOD])
    with running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)) as service:
        with Publisher(mqtt_broker.url) as pub:
            for suffix, payload, _ in CASES:
                pub.publish(f"{prefix}/{suffix}", payload)
            # After all that, a real alarm still goes through.
            pub.publish(f"{prefix}/{GOOD}/event", orjson.dumps({"type": "alarm", "seq": 42}))
        wait_until(lambda: count(database_url, "SELECT count(*) FROM dead_letters") >= len(CASES))
        wait_until(
            lambda: count(database_url, "SELECT count(*) FROM events WHERE type = 'alarm'") == 1
        )
        assert all(writer.is_alive() for writer in service.writers)
        assert all(lane.connected for lane in service.lanes)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, payload, reason_code, reason FROM dead_letters ORDER BY id"
        ).fetchall()
        unregistered = conn.execute(
            "SELECT external_id, message_count FROM unregistered_devices"
        ).fetchall()
    got = sorted(
        (topic.removeprefix(prefix + "/"), bytes(payload), code) for topic, payload, code, _ in rows
    )
    assert got == sorted(CASES)
    assert all(reason for *_, reason in rows)
    assert unregistered == [("NZ-NOBODY", 2)]
