"""Several workers and crashes: no double send by live workers, at most one repeat per crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

from tests.support import wait_until
from tests.support.alerting import (
    SECRET,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

HOUSEHOLDS = 8
ROLES_PAGED = 7  # wave 1: 3, wave 2: 3, wave 3: 1


def seed(db, rx) -> list[str]:
    devices = []
    for n in range(HOUSEHOLDS):
        house = seed_household(db, lambda name: [rx.url(f"delay/{name}")], tag=f"w{n}")
        devices.append(house.device_id)
    return devices


def per_person(rx) -> Counter[str]:
    return Counter(r.path.split("/")[2] for r in rx.seen("/delay/"))


def test_two_workers_send_each_page_once(database_url: str, db) -> None:
    with receiver() as rx:
        devices = seed(db, rx)
        fast = {"alerting_wave2_after_s": 0.5, "alerting_wave3_after_s": 1.0, "alerting_workers": 3}
        with (
            running_alerting(alerting_settings(database_url, **fast)),
            running_alerting(alerting_settings(database_url, **fast)),
        ):
            for device in devices:
                raise_event(db, device, "alarm")
            total = HOUSEHOLDS * ROLES_PAGED
            wait_until(
                lambda: (
                    scalar(db, "SELECT count(*) FROM notifications WHERE status = 'delivered'")
                    == total
                ),
                timeout=90,
            )
        counts = per_person(rx)
        assert len(counts) == total
        assert set(counts.values()) == {1}, "no page sent twice by two live workers"
        workers = scalar(db, "SELECT count(DISTINCT worker) FROM notification_attempts")
        assert workers == 2, "both workers took part"


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env.update(
        {
            "SMOKEWATCH_DATABASE_URL": database_url,
            "SMOKEWATCH_ENVIRONMENT": "test",
            "SMOKEWATCH_ACK_SECRET": SECRET,
            "SMOKEWATCH_ALERTING_LEASE_S": "2",
            "SMOKEWATCH_ALERTING_WAVE2_AFTER_S": "0.5",
            "SMOKEWATCH_ALERTING_WAVE3_AFTER_S": "1",
            "SMOKEWATCH_ALERTING_REPEAT_LAST": "0",
            "SMOKEWATCH_ALERTING_METRICS_PORT": "0",
            "SMOKEWATCH_ALERTING_WORKERS": "3",
            "SMOKEWATCH_ALERTING_POLL_INTERVAL_S": "0.5",
            "SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S": "2",
        }
    )
    return env


def test_sigkill_mid_wave_then_restart_delivers_everything(database_url: str, db, tmp_path) -> None:
    with receiver() as rx:
        devices = seed(db, rx)
        total = HOUSEHOLDS * ROLES_PAGED
        log = open(tmp_path / "alerting.log", "ab")  # noqa: SIM115 - child's lifetime
        command = [sys.executable, "-m", "smokewatch", "alerting"]
        first = subprocess.Popen(
            command, env=_env(database_url), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            for device in devices:
                raise_event(db, device, "alarm")
            wait_until(lambda: len(rx.seen()) >= 10, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            killed_at = len(rx.seen())
            assert killed_at < total, "the kill must land mid-wave"
        finally:
            if first.poll() is None:
                first.kill()
        second = subprocess.Popen(
            command, env=_env(database_url), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until(
                lambda: (
                    scalar(db, "SELECT count(*) FROM notifications WHERE status = 'delivered'")
                    == total
                ),
                timeout=120,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
            log.close()
        counts = per_person(rx)
        assert len(counts) == total, "every planned page was delivered"
        assert max(counts.values()) <= 2, "a crash causes at most one repeat per person"
        assert sum(counts.values()) - total <= 3, "only pages in flight at the kill repeat"


def test_worker_survives_losing_its_database_connections(database_url: str, db) -> None:
    with receiver() as rx:
        first = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="c1")
        second = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="c2")
        with running_alerting(alerting_settings(database_url)):
            raise_event(db, first.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/ok/c1-")) == 3, timeout=30)
            # Every other session of this database goes away, as in a server restart.
            killed = scalar(
                db,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            assert killed >= 2
            raise_event(db, second.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/ok/c2-")) == 3, timeout=60)
        assert len(rx.seen()) == 6


def test_graceful_stop_hands_in_flight_pages_back_at_once(database_url: str, db) -> None:
    with receiver() as rx:
        house = seed_household(db, lambda name: [rx.url(f"slow/{name}")], tag="g1")
        # All three sends in flight at once (a new destination is otherwise capped at 2).
        settings = alerting_settings(
            database_url, alerting_attempts_per_channel=3, alerting_unproven_host_sends=3
        )
        with running_alerting(settings):
            raise_event(db, house.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/slow/")) >= 3, timeout=30)
        rows = db.execute(
            "SELECT status, lease_owner, last_error FROM notifications WHERE wave = 1"
        ).fetchall()
        assert [r["status"] for r in rows] == ["pending"] * 3, "no row waits for its lease"
        assert all(r["lease_owner"] is None and r["last_error"] == "worker stopped" for r in rows)
