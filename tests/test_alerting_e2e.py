"""End to end through MQTT: ingest -> alerting -> receivers; wave 2 unless someone acknowledges.
Wave 2 follows the clock the alerting worker takes: the test moves it instead of waiting."""

from __future__ import annotations

from core.incidents import acknowledge_by_link, verify_ack_token
from tests.support import (
    Clock,
    Publisher,
    ingest_settings,
    running_ingest,
    unique_prefix,
    wait_until,
)
from tests.support.alerting import (
    SECRET,
    WAVE1,
    WAVE2,
    alerting_settings,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

WAVES_1_2_SETTLED = (
    "SELECT count(*) FILTER (WHERE status IN ('delivered', 'cancelled')) = count(*)"
    " FROM notifications WHERE wave <= 2"
)


def test_mqtt_alarm_pages_wave1_then_wave2_unless_acknowledged(
    database_url: str, db, mqtt_broker
) -> None:
    prefix = unique_prefix()
    clock = Clock()
    with receiver() as rx:
        ignored = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="e1")
        answered = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="e2")
        with (
            running_ingest(ingest_settings(database_url, mqtt_broker.url, prefix)),
            running_alerting(
                alerting_settings(database_url, alerting_wave2_after_s=120.0), clock=clock
            ),
            Publisher(mqtt_broker.url) as pub,
        ):
            for house in (ignored, answered):
                event = b'{"type": "alarm", "seq": 1}'
                pub.publish(f"{prefix}/{house.device_id}/event", event)
                pub.publish(f"{prefix}/{house.device_id}/event", event)  # a QoS 1 redelivery
            wait_until(lambda: len(rx.seen("/ok/e2-")) >= len(WAVE1), timeout=30)
            message = next(r for r in rx.seen("/ok/e2-family")).json()["message"]
            token = message.split("https://sw.example/a/")[1].split()[0]
            acknowledge_by_link(db, claim=verify_ack_token(token, secret=SECRET))
            wait_until(lambda: len(rx.seen("/ok/e1-")) >= len(WAVE1), timeout=30)
            clock.advance(seconds=121)  # past wave 2's due time
            wait_until(lambda: len(rx.seen("/ok/e1-")) >= len(WAVE1) + len(WAVE2), timeout=30)
            # Waves 1 and 2 settled (sent or cancelled): nothing could still arrive late.
            wait_until(lambda: scalar(db, WAVES_1_2_SETTLED), timeout=30)

        def people(tag: str) -> list[str]:
            return sorted(r.path.split("/")[2] for r in rx.seen(f"/ok/{tag}-"))

        assert people("e1") == sorted(f"e1-{role}" for role in WAVE1 + WAVE2)
        assert people("e2") == sorted(f"e2-{role}" for role in WAVE1), "the ack stopped wave 2"
        assert all("王秀英" in r.json()["message"] for r in rx.seen())
        assert scalar(db, "SELECT count(*) FROM incidents") == 2
