"""The incident lifecycle: one incident per (device, kind), device clears never close it,
outcome mandatory, acknowledging cancels pages, re-page of an unresolved fire, audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerting.processor import EventProcessor
from alerting.repages import plan_due_repages
from core.incidents import (
    IncidentClosed,
    OutcomeRequired,
    Party,
    acknowledge_incident,
    describe_incident,
    incident_log,
    resolve_incident,
    start_progress,
)
from tests.support import Clock
from tests.support.alerting import alerting_settings, raise_event, scalar, seed_household


def drain(processor: EventProcessor, db) -> int:
    handled = 0
    while processor.process_one(db) is not None:
        handled += 1
    return handled


def channels(name: str) -> list[str]:
    return [f"json://127.0.0.1:9/{name}"]


def test_alarm_repeats_clear_and_silence_keep_one_open_incident(database_url: str, db) -> None:
    house = seed_household(db, channels)
    processor = EventProcessor(alerting_settings(database_url), Clock())
    for kind in ("alarm", "silenced", "alarm", "alarm_cleared", "test"):
        raise_event(db, house.device_id, kind)
    assert drain(processor, db) == 5
    incident = db.execute("SELECT * FROM incidents").fetchone()
    assert scalar(db, "SELECT count(*) FROM incidents") == 1
    assert incident["status"] == "triggered"
    assert incident["event_count"] == 2
    assert incident["cleared_by_device_at"] is not None and incident["silenced_at"] is not None
    actions = [row["action"] for row in incident_log(db, incident["id"])]
    assert actions.count("opened") == 1 and actions.count("event_joined") == 1
    assert "cleared_by_device" in actions and "silenced" in actions
    assert scalar(db, "SELECT count(*) FROM pending_events") == 0
    # test events are stored and never page: only the alarm planned anything.
    assert scalar(db, "SELECT count(DISTINCT incident_id) FROM notifications") == 1


def test_resolve_needs_outcome_and_cause(database_url: str, db) -> None:
    house = seed_household(db, channels)
    drain_with = EventProcessor(alerting_settings(database_url), Clock())
    raise_event(db, house.device_id, "alarm")
    drain(drain_with, db)
    incident_id = scalar(db, "SELECT id FROM incidents")
    with pytest.raises(OutcomeRequired):
        resolve_incident(
            db, incident_id=incident_id, actor="desk", outcome="nothing", party=Party.CENTRE
        )
    with pytest.raises(OutcomeRequired):
        resolve_incident(
            db, incident_id=incident_id, actor="desk", outcome="false_alarm", party=Party.CENTRE
        )
    start_progress(db, incident_id=incident_id, actor="grid worker")
    done = resolve_incident(
        db,
        incident_id=incident_id,
        actor="desk",
        party=Party.CENTRE,
        outcome="false_alarm",
        cause="cooking",
        note="烧水壶干烧",
    )
    assert (done["status"], done["outcome"], done["false_alarm_cause"]) == (
        "resolved",
        "false_alarm",
        "cooking",
    )
    assert scalar(db, "SELECT count(*) FROM notifications WHERE status = 'pending'") == 0
    with pytest.raises(IncidentClosed):
        acknowledge_incident(db, incident_id=incident_id, actor="late")
    # The next alarm opens a new incident: the key is only unique while one is open.
    raise_event(db, house.device_id, "alarm")
    drain(drain_with, db)
    assert scalar(db, "SELECT count(*) FROM incidents") == 2


def test_acknowledge_cancels_pending_pages_and_is_idempotent(database_url: str, db) -> None:
    house = seed_household(db, channels)
    processor = EventProcessor(alerting_settings(database_url), Clock())
    raise_event(db, house.device_id, "alarm")
    drain(processor, db)
    incident_id = scalar(db, "SELECT id FROM incidents")
    planned = scalar(db, "SELECT count(*) FROM notifications WHERE status = 'pending'")
    assert planned == 7  # wave 1: 3, wave 2: 3, wave 3: 1
    first = acknowledge_incident(
        db, incident_id=incident_id, actor="王小明", contact_id=house.contacts["family"]
    )
    again = acknowledge_incident(db, incident_id=incident_id, actor="someone else")
    assert first["acknowledged_at"] == again["acknowledged_at"]
    assert scalar(db, "SELECT count(*) FROM notifications WHERE status = 'cancelled'") == 7
    view = describe_incident(db, incident_id)
    assert view["address"] == "南张村三组h1号" and view["room"] == "厨房"
    assert {t["role"] for t in view["told"]} >= {"resident", "family", "grid_worker"}


def test_unresolved_acknowledged_fire_repages_a_bounded_number_of_times(
    database_url: str, db
) -> None:
    house = seed_household(db, channels)
    clock = Clock()
    settings = alerting_settings(
        database_url, alerting_repage_after_s=600.0, alerting_max_repages=2
    )
    processor = EventProcessor(settings, clock)
    raise_event(db, house.device_id, "alarm")
    drain(processor, db)
    incident_id = scalar(db, "SELECT id FROM incidents")
    acknowledge_incident(db, incident_id=incident_id, actor="desk", now=clock())
    assert plan_due_repages(db, settings=settings, now=clock()) == 0
    for expected_round in (1, 2, 3):
        clock.now += timedelta(seconds=601)
        planned = plan_due_repages(db, settings=settings, now=clock())
        if expected_round <= 2:
            assert planned == 4  # wave 1 (3 people) and the duty desk
        else:
            assert planned == 0  # bounded
    assert scalar(db, "SELECT repage_count FROM incidents") == 2
    assert scalar(db, "SELECT count(*) FROM notifications WHERE purpose = 'repage'") == 8
    body = db.execute(
        "SELECT messages FROM notifications WHERE purpose = 'repage' LIMIT 1"
    ).fetchone()["messages"]["chat"]["title"]
    assert "未处置" in body


def test_maintenance_events_open_and_close_work_orders(database_url: str, db) -> None:
    house = seed_household(db, channels)
    processor = EventProcessor(alerting_settings(database_url), Clock())
    for kind, priority in (("low_battery", 3), ("low_battery", 3), ("fault", 3), ("battery_ok", 4)):
        raise_event(db, house.device_id, kind, priority=priority)
    drain(processor, db)
    rows = {r["kind"]: r for r in db.execute("SELECT * FROM work_orders")}
    assert rows["low_battery"]["status"] == "closed"
    assert rows["low_battery"]["event_count"] == 2
    assert rows["fault"]["status"] == "open"
    assert scalar(db, "SELECT count(*) FROM notifications") == 0, "maintenance never pages"


def test_links_act_only_on_their_own_incident(database_url: str, db) -> None:
    from core.incidents import (
        FieldCannotClose,
        InvalidToken,
        acknowledge_by_link,
        make_ack_token,
        report_by_link,
        resolve_by_link,
        verify_ack_token,
    )
    from tests.support.alerting import SECRET

    first = seed_household(db, channels, tag="l1")
    second = seed_household(db, channels, tag="l2")
    processor = EventProcessor(alerting_settings(database_url), Clock())
    raise_event(db, first.device_id, "alarm")
    raise_event(db, second.device_id, "alarm")
    drain(processor, db)
    ids = [r["id"] for r in db.execute("SELECT id FROM incidents ORDER BY id")]
    token = make_ack_token(
        incident_id=ids[0],
        contact_id=first.contacts["family"],
        secret=SECRET,
        ttl=timedelta(hours=1),
    )
    with pytest.raises(InvalidToken):  # the page for incident 1 does not open incident 2
        verify_ack_token(token, secret=SECRET, incident_id=ids[1])
    claim = verify_ack_token(token, secret=SECRET, incident_id=ids[0])
    acked = acknowledge_by_link(db, claim=claim)
    assert acked["acknowledged_by"] == "王小明 (link)"
    assert acked["ack_contact_id"] == first.contacts["family"]
    with pytest.raises(FieldCannotClose):  # a link-holder never closes a fire
        resolve_by_link(db, claim=claim, outcome="test")
    done = report_by_link(db, claim=claim, outcome="test")
    assert (done["id"], done["status"], done["report_outcome"]) == (ids[0], "reported", "test")
    assert scalar(db, "SELECT status FROM incidents WHERE id = %s", (ids[1],)) == "triggered"
    expired = make_ack_token(
        incident_id=ids[1],
        contact_id=second.contacts["family"],
        secret=SECRET,
        ttl=timedelta(hours=1),
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    with pytest.raises(InvalidToken, match="expired"):
        verify_ack_token(expired, secret=SECRET)


def test_assign_and_timeline_of_attempts(database_url: str, db) -> None:
    from core.incidents import assign_incident, incident_attempts
    from tests.support import wait_until
    from tests.support.alerting import receiver, running_alerting

    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"500/{name}"), rx.url(f"ok/{name}")])
        with running_alerting(alerting_settings(database_url, alerting_attempts_per_channel=1)):
            raise_event(db, house.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/ok/")) == 3, timeout=30)
        incident_id = scalar(db, "SELECT id FROM incidents")
        assigned = assign_incident(
            db,
            incident_id=incident_id,
            actor="operator 7",
            contact_id=house.contacts["grid_worker"],
        )
        assert assigned["assigned_to"] == house.contacts["grid_worker"]
        timeline = incident_attempts(db, incident_id)
        family = [t for t in timeline if t["role"] == "family" and t["at"] is not None]
        assert [(t["scheme"], t["outcome"]) for t in family] == [
            ("json", "failed"),
            ("json", "delivered"),
        ]
        assert "HTTP 500" in family[0]["response"]
        assert "assigned" in [r["action"] for r in incident_log(db, incident_id)]
