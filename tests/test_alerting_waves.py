"""Escalation end to end: events in PostgreSQL, the alerting worker, real HTTP receivers.
The waves follow the clock AlertingService takes: the test moves it instead of waiting."""

from __future__ import annotations

import psycopg

from core.incidents import acknowledge_incident, verify_ack_token
from tests.support import Clock, wait_until
from tests.support.alerting import (
    SECRET,
    WAVE1,
    WAVE2,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

WAVE2_AFTER_S = 120.0
WAVES_1_2_DELIVERED = (
    "SELECT count(*) FILTER (WHERE status = 'delivered') = count(*) FROM notifications"
    " WHERE wave <= 2"
)
CANCELLED_WAVE2 = (
    "SELECT count(*) FROM notifications WHERE wave = 2 AND status = 'cancelled'"
    " AND incident_id = %s"
)


def test_alarm_pages_wave1_once_each_then_wave2_after_wait(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"ok/{name}")])
        settings = alerting_settings(database_url, alerting_wave2_after_s=WAVE2_AFTER_S)
        clock = Clock()
        with running_alerting(settings, clock=clock):
            raise_event(db, house.device_id, "alarm")
            raise_event(db, house.device_id, "alarm")  # a repeat joins the same incident
            wait_until(lambda: scalar(db, "SELECT sum(event_count) FROM incidents") == 2)
            wait_until(lambda: len(rx.seen()) >= len(WAVE1), timeout=30)
            # Wave 2 is planned but not due while the clock stands still.
            assert scalar(db, "SELECT count(*) FROM notifications WHERE wave = 2"
                              " AND status = 'pending'") == len(WAVE2)  # fmt: skip
            assert len(rx.seen()) == len(WAVE1)
            clock.advance(seconds=WAVE2_AFTER_S)
            # Every page of waves 1 and 2 settled: none could still arrive as a duplicate.
            wait_until(lambda: scalar(db, WAVES_1_2_DELIVERED), timeout=30)
            assert scalar(db, "SELECT status FROM notifications WHERE wave = 3") == "pending"

        by_person = {}
        for request in rx.seen():
            by_person.setdefault(request.path.split("/")[2], []).append(request)
        tag = "h1"
        assert sorted(by_person) == sorted(f"{tag}-{r}" for r in WAVE1 + WAVE2)
        assert all(len(v) == 1 for v in by_person.values()), "each person paged exactly once"
        assert scalar(db, "SELECT count(*) FROM incidents") == 1
        assert scalar(db, "SELECT event_count FROM incidents") == 2

        text = by_person[f"{tag}-family"][0].json()
        assert "烟感" in text["title"]
        body = text["message"]
        for fact in (
            "南张村三组h1号",
            "厨房",
            "王秀英",
            "独居",
            "0537-1234567",
            "孙网格(网格员)",
            "https://sw.example/a/",
        ):
            assert fact in body, f"{fact!r} missing from {body!r}"
        wave2_first = min(
            r.at for r in rx.seen() if r.path.split("/")[2] in {f"{tag}-{x}" for x in WAVE2}
        )
        wave1_last = max(
            r.at for r in rx.seen() if r.path.split("/")[2] in {f"{tag}-{x}" for x in WAVE1}
        )
        assert wave2_first > wave1_last
        assert scalar(db, "SELECT count(*) FROM incident_log WHERE action = 'delivered'") == 6


def test_ack_through_link_stops_wave2(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"ok/{name}")])
        settings = alerting_settings(database_url, alerting_wave2_after_s=WAVE2_AFTER_S)
        clock = Clock()
        with running_alerting(settings, clock=clock):
            raise_event(db, house.device_id, "alarm")
            wait_until(lambda: len(rx.seen()) >= len(WAVE1), timeout=30)
            link = next(r for r in rx.seen() if r.path.endswith("-family")).json()["message"]
            token = link.split("https://sw.example/a/")[1].split()[0]
            claim = verify_ack_token(token, secret=SECRET)
            with psycopg.connect(database_url, autocommit=True) as conn:
                acknowledge_incident(
                    conn, incident_id=claim.incident_id, actor="family", contact_id=claim.contact_id
                )
            # Past wave 2's due time the worker must let it pass unsent. A second household's
            # alarm, paged at the moved time, shows that the worker has claimed since the move.
            clock.advance(seconds=WAVE2_AFTER_S + 1)
            other = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="h2")
            raise_event(db, other.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/ok/h2-")) >= len(WAVE1), timeout=30)
        assert len(rx.seen("/ok/h1-")) == len(WAVE1)
        mine = "FROM incidents WHERE id = %s"
        assert scalar(db, CANCELLED_WAVE2, (claim.incident_id,)) == len(WAVE2)
        assert scalar(db, f"SELECT status {mine}", (claim.incident_id,)) == "acknowledged"
        ack = scalar(db, f"SELECT ack_contact_id {mine}", (claim.incident_id,))
        assert ack == house.contacts["family"]
