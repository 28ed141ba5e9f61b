"""End to end: an alarm published on MQTT reaches every wave-1 receiver exactly once."""

from __future__ import annotations

import time

from tests.alerting_support import (
    WAVE1,
    alerting_settings,
    receiver,
    running_alerting,
    seed_household,
)
from tests.support import (
    Publisher,
    ingest_settings,
    running_ingest,
    unique_prefix,
    wait_until,
)


def test_mqtt_alarm_reaches_wave1_receivers(database_url: str, db, mqtt_broker) -> None:
    prefix = unique_prefix()
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"ok/{name}")])
        with (
            running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)),
            running_alerting(alerting_settings(database_url)),
            Publisher(mqtt_broker.url) as pub,
        ):
            pub.publish(f"{prefix}/{house.device_id}/event", b'{"type": "alarm", "seq": 1}')
            pub.publish(f"{prefix}/{house.device_id}/event", b'{"type": "alarm", "seq": 1}')
            wait_until(lambda: len(rx.seen()) >= len(WAVE1), timeout=30)
            time.sleep(0.5)  # room for a duplicate to show up, if there were one
        people = sorted(r.path.split("/")[2] for r in rx.seen())
        assert people == sorted(f"h1-{role}" for role in WAVE1)
        assert all("王秀英" in r.json()["message"] for r in rx.seen())
