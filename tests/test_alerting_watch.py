"""Digests for maintainers, our own rate limits, and the self-watch page."""

from __future__ import annotations

from datetime import UTC, datetime, time

from alerting.digest import plan_digests
from alerting.processor import EventProcessor
from alerting.watch import SelfWatch
from core.factory import create_contact
from core.pg_channels import NOTIFICATIONS_CHANNEL
from tests.support import wait_until
from tests.support.alerting import (
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

NO_QUIET = {"alerting_quiet_start": time(0, 0), "alerting_quiet_end": time(0, 0)}


def add_maintainer(db, village_id: int, name: str, url: str) -> int:
    return create_contact(db, org_id=village_id, name=name, role="maintainer", channels=[url])


def test_digest_lists_work_orders_once_a_day(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"ok/{name}")])
        add_maintainer(db, house.village_id, "维护员甲", rx.url("ok/maintainer"))
        settings = alerting_settings(database_url, alerting_digest_at=time(0, 0), **NO_QUIET)
        raise_event(db, house.device_id, "low_battery", priority=3)
        processor = EventProcessor(settings, lambda: datetime.now(UTC))
        while processor.process_one(db):
            pass
        # The worker's housekeeping plans the daily digest (past digest_at) and sends it.
        with running_alerting(settings):
            wait_until(lambda: rx.seen("/ok/maintainer"), timeout=30)
        assert not plan_digests(db, settings=settings, now=datetime.now(UTC)), "once a day"
        digest = rx.seen("/ok/maintainer")[0].json()
        assert "维护日报" in digest["title"]
        assert "低电量" in digest["message"] and "南张村三组h1号" in digest["message"]
        assert len(rx.seen("/ok/h1-")) == 0, "maintenance never pages the household"


def test_digest_waits_for_morning_unless_configured(database_url: str, db) -> None:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
    add_maintainer(db, house.village_id, "维护员乙", "json://127.0.0.1:9/m")
    night = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai
    settings = alerting_settings(database_url)
    plan_digests(db, settings=settings, now=night, on_demand=True)
    due = scalar(db, "SELECT due_at FROM notifications WHERE purpose = 'digest'")
    assert due == datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 07:30 local
    awake = alerting_settings(database_url, alerting_digest_at_night=True)
    plan_digests(db, settings=awake, now=night.replace(minute=1), on_demand=True)
    assert scalar(db, "SELECT min(due_at) FROM notifications WHERE purpose = 'digest'") == (
        night.replace(minute=1)
    )


def test_rate_limit_defers_digest_but_never_fire(database_url: str, db) -> None:
    with receiver() as rx:
        shared = rx.url("ok/shared-bot")
        house = seed_household(db, lambda name: [shared])
        add_maintainer(db, house.village_id, "维护员甲", shared)
        add_maintainer(db, house.village_id, "维护员乙", shared)
        settings = alerting_settings(
            database_url, alerting_rate_limits={"json": 2}, alerting_digest_at=None, **NO_QUIET
        )
        with running_alerting(settings):
            raise_event(db, house.device_id, "alarm")  # three fire pages to one destination
            wait_until(lambda: len(rx.seen()) >= 3, timeout=30)
            plan_digests(db, settings=settings, now=datetime.now(UTC), on_demand=True)
            db.execute("SELECT pg_notify(%s, 'digest')", (NOTIFICATIONS_CHANNEL,))
            wait_until(
                lambda: (
                    scalar(
                        db,
                        "SELECT count(*) FROM notification_attempts WHERE outcome = 'rate_limited'",
                    )
                    == 2
                ),
                timeout=30,
            )
        assert len(rx.seen()) == 3, "fire went through the limit; digests were held"
        held = db.execute(
            "SELECT status, due_at FROM notifications WHERE purpose = 'digest'"
        ).fetchall()
        assert [r["status"] for r in held] == ["pending", "pending"]
        assert all(r["due_at"] > datetime.now(UTC) for r in held)


def test_self_watch_pages_monitoring_centre_on_backlog(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
        settings = alerting_settings(
            database_url,
            alerting_backlog_threshold=3,
            alerting_monitoring_urls=[rx.url("ok/monitoring-centre")],
        )
        processor = EventProcessor(settings, lambda: datetime.now(UTC))
        raise_event(db, house.device_id, "alarm")
        while processor.process_one(db):
            pass  # planned, but no worker sends: a backlog
        watch = SelfWatch(settings)
        problems = watch.check(db, datetime.now(UTC))
        assert problems and "backlog" in problems[0]
        assert len(rx.seen("/ok/monitoring-centre")) == 1
        assert "告警服务异常" in rx.seen()[0].json()["title"]
        watch.check(db, datetime.now(UTC))
        assert len(rx.seen()) == 1, "the monitoring centre is not paged again at once"


def test_self_watch_flags_a_failing_provider(database_url: str, db) -> None:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
    settings = alerting_settings(database_url, alerting_failure_rate_threshold=0.5)
    processor = EventProcessor(settings, lambda: datetime.now(UTC))
    raise_event(db, house.device_id, "alarm")
    while processor.process_one(db):
        pass
    notification = scalar(db, "SELECT min(id) FROM notifications")
    for outcome in ("failed", "timeout", "failed", "delivered", "failed", "failed"):
        db.execute(
            "INSERT INTO notification_attempts (notification_id, channel_index, scheme,"
            " destination, outcome) VALUES (%s, 0, 'aliyunsms', 'x', %s)",
            (notification, outcome),
        )
    problems = SelfWatch(settings).problems(db, datetime.now(UTC))
    assert any(p.startswith("aliyunsms: 83% of 6") for p in problems), problems


def beat(db, instance: str, age_s: float, *, connected: bool = True) -> None:
    db.execute(
        "INSERT INTO service_heartbeats (service, instance, started_at, beat_at, connected)"
        " VALUES ('ingest', %s, now() - interval '1 hour', now() - make_interval(secs => %s), %s)"
        " ON CONFLICT (service, instance) DO UPDATE SET beat_at = EXCLUDED.beat_at,"
        " connected = EXCLUDED.connected",
        (instance, age_s, connected),
    )


def test_self_watch_pages_monitoring_centre_when_ingest_is_down(database_url: str, db) -> None:
    with receiver() as rx:
        settings = alerting_settings(
            database_url,
            alerting_monitoring_urls=[rx.url("ok/monitoring-centre")],
            alerting_ingest_stale_s=30,
        )
        watch = SelfWatch(settings)
        assert watch.problems(db, datetime.now(UTC)) == [], "no ingest ever ran: nothing to say"
        beat(db, "ingest-1", 5)
        assert watch.problems(db, datetime.now(UTC)) == []
        beat(db, "ingest-1", 5, connected=False)  # running, but lost the broker
        assert any(p.startswith("ingest:") for p in watch.problems(db, datetime.now(UTC)))
        beat(db, "ingest-1", 120)  # stopped, or its heartbeat write fails (disk full)
        beat(db, "ingest-old", 86400)  # a retired instance's row stays behind
        problems = watch.check(db, datetime.now(UTC))
        assert [p for p in problems if p.startswith("ingest:")], problems
        page = rx.seen("/ok/monitoring-centre")[0].json()
        assert "fire alarms are not being received" in page["message"]
        beat(db, "ingest-2", 1)  # a second worker is alive: the fleet is still heard
        assert watch.problems(db, datetime.now(UTC)) == []


def test_self_watch_reports_a_silent_system(database_url: str, db) -> None:
    db.execute(
        "INSERT INTO outages (scope, scope_key, opened_at, device_count)"
        " VALUES ('system', 'system', now() - interval '10 minutes', 414)"
    )
    problems = SelfWatch(alerting_settings(database_url)).problems(db, datetime.now(UTC))
    assert any("no detector heard since" in p and "414 devices" in p for p in problems), problems
