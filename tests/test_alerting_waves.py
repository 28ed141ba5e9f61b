"""Escalation end to end: events in PostgreSQL, the alerting worker, real HTTP receivers."""

from __future__ import annotations

import time

import psycopg

from core.incidents import acknowledge_incident, verify_ack_token
from tests.alerting_support import (
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
from tests.support import wait_until


def test_alarm_pages_wave1_once_each_then_wave2_after_wait(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"ok/{name}")])
        settings = alerting_settings(database_url, alerting_wave2_after_s=1.0)
        with running_alerting(settings):
            raise_event(db, house.device_id, "alarm")
            raise_event(db, house.device_id, "alarm")  # a repeat joins the same incident
            wait_until(lambda: len(rx.seen()) >= len(WAVE1) + len(WAVE2), timeout=30)
            time.sleep(0.5)  # let a duplicate, if there were one, arrive

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
        settings = alerting_settings(database_url, alerting_wave2_after_s=2.0)
        with running_alerting(settings):
            raise_event(db, house.device_id, "alarm")
            wait_until(lambda: len(rx.seen()) >= len(WAVE1), timeout=30)
            link = next(r for r in rx.seen() if r.path.endswith("-family")).json()["message"]
            token = link.split("https://sw.example/a/")[1].split()[0]
            claim = verify_ack_token(token, secret=SECRET)
            with psycopg.connect(database_url, autocommit=True) as conn:
                acknowledge_incident(
                    conn, incident_id=claim.incident_id, actor="family", contact_id=claim.contact_id
                )
            # Wait past wave 2's due time; the worker must have let it pass unsent.
            due = scalar(db, "SELECT max(due_at) FROM notifications WHERE wave = 2")
            wait_until(
                lambda: scalar(db, "SELECT clock_timestamp() > %s + interval '1.5 s'", (due,)),
                timeout=30,
            )
        assert len(rx.seen()) == len(WAVE1)
        assert (
            scalar(db, "SELECT count(*) FROM notifications WHERE wave = 2 AND status = 'cancelled'")
            == 3
        )
        assert scalar(db, "SELECT status FROM incidents") == "acknowledged"
        assert scalar(db, "SELECT ack_contact_id FROM incidents") == house.contacts["family"]
