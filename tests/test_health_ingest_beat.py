"""Ingest tells the offline watchdog it is listening: its service_heartbeats row."""

from __future__ import annotations

import orjson
import psycopg
from psycopg.rows import DictRow

from devtools.localservers import LocalMosquitto
from tests.support import (
    Publisher,
    ingest_settings,
    register_devices,
    running_ingest,
    wait_until,
)


def test_ingest_writes_its_heartbeat_with_the_last_message_time(
    db: psycopg.Connection[DictRow],
    database_url: str,
    mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:
    register_devices(database_url, ["HB-1"])
    settings = ingest_settings(database_url, mqtt_broker.url, topic_prefix, ingest_heartbeat_s=0.2)

    def beat() -> dict[str, object] | None:
        return db.execute(
            "SELECT connected, beat_at, last_message_at FROM service_heartbeats"
            " WHERE service = 'ingest' AND instance = %s",
            (settings.ingest_client_id,),
        ).fetchone()

    with running_ingest(settings) as service:
        assert service.wait_connected(20)
        first = wait_until(lambda: (row := beat()) and row["connected"] and row)
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(f"{topic_prefix}/HB-1/event", orjson.dumps({"type": "test", "seq": 1}))
        later = wait_until(lambda: (row := beat()) and row["last_message_at"] and row)

    assert later["beat_at"] > first["beat_at"]
    stopped = beat()
    assert stopped is not None  # a stopped ingest leaves its stale row for the watchdog
