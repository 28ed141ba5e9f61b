"""Alarm storms (issue 22): events handled in batches, by several processors at once, a device's
events in its own order, a poison event parked without holding the others back, and backlog
gauges that show the backlog while it lasts."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
from prometheus_client import REGISTRY
from psycopg.rows import dict_row

from alerting import outbox
from alerting.processor import MAX_EVENT_ATTEMPTS, EventProcessor
from alerting.watch import SelfWatch
from tests.support import Clock, wait_until
from tests.support.alerting import (
    WAVE1,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

PAGES_PER_INCIDENT = 7  # wave 1: 3, wave 2: 3, wave 3: 1 (no repeats in the tests' settings)


def channels(name: str) -> list[str]:
    return [f"json://127.0.0.1:9/{name}"]


def households(db, count: int, channel=channels, prefix: str = "s") -> list[str]:
    return [seed_household(db, channel, tag=f"{prefix}{n}").device_id for n in range(count)]


def drain(processor: EventProcessor, conn, limit: int = 100) -> int:
    handled = 0
    while batch := processor.process_batch(conn, limit=limit):
        handled += len(batch)
    return handled


def test_one_batch_opens_one_incident_per_household_and_plans_each_page_once(
    database_url: str, db
) -> None:
    devices = households(db, 30)
    for device in devices:
        raise_event(db, device, "alarm")
    for device in devices[:10]:
        raise_event(db, device, "alarm")  # a repeat joins the household's incident
    processor = EventProcessor(alerting_settings(database_url), Clock())

    first = processor.process_batch(db, limit=100)

    # One event per device in a batch: the 30 first alarms together, the repeats after them.
    assert len(first) == 30 and all(h.planned == PAGES_PER_INCIDENT for h in first)
    assert drain(processor, db) == 10
    rows = db.execute("SELECT device_id, event_count FROM incidents").fetchall()
    assert Counter(r["device_id"] for r in rows) == Counter(devices)
    assert sorted(r["event_count"] for r in rows) == [1] * 20 + [2] * 10
    planned = db.execute(
        "SELECT incident_id, contact_id, wave, round, count(*) AS n FROM notifications"
        " GROUP BY 1, 2, 3, 4"
    ).fetchall()
    assert len(planned) == 30 * PAGES_PER_INCIDENT and {r["n"] for r in planned} == {1}
    log = Counter(r["action"] for r in db.execute("SELECT action FROM incident_log"))
    assert log == {"opened": 30, "event_joined": 10, "planned": 30 * PAGES_PER_INCIDENT}
    assert scalar(db, "SELECT count(*) FROM pending_events") == 0


def test_storm_pages_every_household_once_through_the_service(database_url: str, db) -> None:
    with receiver() as rx:
        devices = households(db, 25, lambda name: [rx.url(f"ok/{name}")], prefix="e")
        with running_alerting(alerting_settings(database_url, alerting_event_batch=10)):
            for device in devices:
                raise_event(db, device, "alarm")
            wait_until(lambda: len(rx.seen("/ok/")) >= 25 * len(WAVE1), timeout=60)
            wait_until(lambda: scalar(db, "SELECT count(*) FROM pending_events") == 0, timeout=10)
        paged = Counter(r.path for r in rx.seen("/ok/"))
    expected = {f"/ok/e{n}-{role}" for n in range(25) for role in WAVE1}
    assert set(paged) == expected, "every wave-1 person of every household"
    assert set(paged.values()) == {1}, "nobody paged twice"
    assert scalar(db, "SELECT count(*) FROM incidents") == 25


def test_device_order_is_kept_while_another_processor_holds_its_alarm(
    database_url: str, db
) -> None:
    device, other = households(db, 2)
    alarm = raise_event(db, device, "alarm")
    raise_event(db, device, "alarm_cleared")
    raise_event(db, other, "alarm")
    processor = EventProcessor(alerting_settings(database_url), Clock())
    with psycopg.connect(database_url, row_factory=dict_row) as holder:
        # Another processor has claimed the alarm and not committed yet.
        holder.execute("SELECT 1 FROM pending_events WHERE event_id = %s FOR UPDATE", (alarm,))
        took = processor.process_batch(db, limit=10)
        assert [h.type for h in took] == ["alarm"]  # the other household's, not the clear
        assert scalar(db, "SELECT device_id FROM incidents") == other
        assert processor.process_batch(db, limit=10) == []
        holder.rollback()
    assert [h.type for h in processor.process_batch(db, limit=10)] == ["alarm"]
    assert [h.type for h in processor.process_batch(db, limit=10)] == ["alarm_cleared"]
    cleared = scalar(
        db, "SELECT cleared_by_device_at FROM incidents WHERE device_id = %s", (device,)
    )
    assert cleared is not None, "the clear found the incident its alarm opened"


def test_poison_event_is_parked_with_its_reason_and_the_batch_goes_on(
    database_url: str, db
) -> None:
    devices = households(db, 5)
    poison = devices[2]
    site = scalar(db, "SELECT site_id FROM devices WHERE id = %s", (poison,))
    # Data no fallback mends (a broken policy override no longer poisons a fire: it pages with
    # the defaults, tests/test_alerting_bad_data.py): a site whose incidents cannot be written.
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'incident refused for site %', NEW.site_id; END $$"
    )
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON incidents FOR EACH ROW"
        f" WHEN (NEW.site_id = {int(site)}) EXECUTE FUNCTION refuse()"
    )
    for device in devices:
        raise_event(db, device, "alarm")
    clock = Clock()
    processor = EventProcessor(alerting_settings(database_url), clock)
    parked_before = REGISTRY.get_sample_value(
        "smokewatch_alerting_parked_events_total", {"type": "alarm"}
    )

    handled = processor.process_batch(db, limit=10)

    assert len(handled) == 5
    paged = db.execute("SELECT device_id FROM incidents ORDER BY device_id").fetchall()
    assert [r["device_id"] for r in paged] == sorted(set(devices) - {poison})
    assert scalar(db, "SELECT count(*) FROM notifications") == 4 * PAGES_PER_INCIDENT
    assert scalar(db, "SELECT attempts FROM pending_events") == 1
    for _ in range(MAX_EVENT_ATTEMPTS):
        clock.now += timedelta(minutes=1)  # past the retry delay
        processor.process_batch(db, limit=10)
    assert scalar(db, "SELECT count(*) FROM pending_events") == 0
    parked = db.execute(
        "SELECT device_id, reason_code, reason FROM dead_letters WHERE source = 'alerting'"
    ).fetchall()
    assert len(parked) == 1
    assert parked[0]["device_id"] == poison and parked[0]["reason_code"] == "alerting_failed"
    assert "incident refused for site" in parked[0]["reason"]
    assert (
        REGISTRY.get_sample_value("smokewatch_alerting_parked_events_total", {"type": "alarm"})
        == (parked_before or 0) + 1
    )


def test_two_processors_at_once_handle_each_event_once_in_device_order(
    database_url: str, db
) -> None:
    devices = households(db, 20)
    for kind in ("alarm", "alarm_cleared", "alarm"):
        for device in devices:
            raise_event(db, device, kind)
    settings = alerting_settings(database_url)
    start = threading.Barrier(2)
    handled: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
                processor = EventProcessor(settings, Clock())
                start.wait(timeout=10)
                idle = 0
                while idle < 3:  # the other may still hold a device's earlier event
                    batch = processor.process_batch(conn, limit=7)
                    handled[index].extend(h.type for h in batch)
                    idle = 0 if batch else idle + 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    drain(EventProcessor(settings, Clock()), db)  # whatever the two left for the end
    assert scalar(db, "SELECT count(*) FROM pending_events") == 0
    assert all(handled), "both processors took part"
    incidents = db.execute("SELECT * FROM incidents").fetchall()
    assert len(incidents) == 20
    assert {i["event_count"] for i in incidents} == {2}
    assert all(i["cleared_by_device_at"] is not None for i in incidents), "clear after alarm"
    assert scalar(db, "SELECT count(*) FROM notifications") == 20 * PAGES_PER_INCIDENT
    assert scalar(db, "SELECT count(DISTINCT dedupe_key) FROM notifications") == (
        20 * PAGES_PER_INCIDENT
    )


def test_pending_events_gauge_shows_the_backlog_and_its_end(database_url: str, db) -> None:
    devices = households(db, 12)
    for device in devices:
        raise_event(db, device, "test")
    processor = EventProcessor(alerting_settings(database_url), Clock())
    processor.process_batch(db, limit=5)

    backlog = processor.measure_backlog(db)

    assert backlog.pending == 7
    assert REGISTRY.get_sample_value("smokewatch_alerting_pending_events") == 7
    oldest = REGISTRY.get_sample_value("smokewatch_alerting_pending_event_age_seconds")
    assert oldest is not None and oldest >= 0
    drain(processor, db)
    processor.measure_backlog(db)
    assert REGISTRY.get_sample_value("smokewatch_alerting_pending_events") == 0
    assert REGISTRY.get_sample_value("smokewatch_alerting_pending_event_age_seconds") == 0


def test_repeats_of_a_wave_reuse_its_rendered_message_and_link(database_url: str, db) -> None:
    (device,) = households(db, 1)
    raise_event(db, device, "alarm")
    settings = alerting_settings(database_url, alerting_repeat_last=2)
    drain(EventProcessor(settings, Clock()), db)
    rows = db.execute(
        "SELECT contact_id, round, due_at, messages, ack_url FROM notifications"
        " WHERE wave = 3 ORDER BY round"
    ).fetchall()
    assert [r["round"] for r in rows] == [0, 1, 2]  # the duty desk, and its two repeats
    assert rows[0]["due_at"] < rows[1]["due_at"] < rows[2]["due_at"]
    assert {r["ack_url"] for r in rows} == {rows[0]["ack_url"]}
    assert all(r["messages"] == rows[0]["messages"] for r in rows)


def test_self_watch_reports_events_waiting_too_long(database_url: str, db) -> None:
    (device,) = households(db, 1)
    raise_event(db, device, "alarm")  # and no processor takes it
    settings = alerting_settings(database_url, alerting_backlog_age_threshold_s=0.001)

    problems = SelfWatch(settings).problems(db, datetime.now(UTC))

    assert any(p.startswith("event backlog: 1 events waiting") for p in problems)
    assert REGISTRY.get_sample_value("smokewatch_alerting_pending_events") == 1


def test_claim_takes_every_household_first_person_before_anyone_second(
    database_url: str, db
) -> None:
    devices = households(db, 6)
    clock = Clock()
    processor = EventProcessor(alerting_settings(database_url), clock)
    for batch in (devices[:3], devices[3:]):  # two batches, the second planned a second later
        for device in batch:
            raise_event(db, device, "alarm")
        drain(processor, db)
        clock.now += timedelta(seconds=1)

    claimed = outbox.claim_due(db, worker="w", now=clock.now, limit=6, lease_s=10.0)

    owners = db.execute(
        "SELECT n.id, i.device_id, n.person_order FROM notifications n"
        " JOIN incidents i ON i.id = n.incident_id WHERE n.id = ANY(%s)",
        ([r["id"] for r in claimed],),
    ).fetchall()
    assert sorted(r["device_id"] for r in owners) == sorted(devices), "one page per household"
    assert {r["person_order"] for r in owners} == {0}
