"""Delivery in steps: a slow provider holds no other incident, retries are due steps, a dead
worker's rows resume where they stopped (issue 14, items 2 and 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from alerting import outbox
from alerting.processor import EventProcessor
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


def test_send_hanging_destination_does_not_hold_another_incidents_page(
    database_url: str, db
) -> None:
    with receiver() as hanging, receiver() as healthy:
        warm = seed_household(db, lambda name: [healthy.url(f"ok/{name}")], tag="warm")
        stuck = seed_household(db, lambda name: [hanging.url(f"slow/{name}")], tag="stuck")
        other = seed_household(db, lambda name: [healthy.url(f"ok/{name}")], tag="other")
        # Three senders: the old design let the stuck household's three pages take all of
        # them through every attempt, timeout and backoff.
        settings = alerting_settings(
            database_url, alerting_workers=3, alerting_request_timeout_s=1.5
        )
        with running_alerting(settings):
            raise_event(db, warm.device_id, "alarm")  # the healthy provider has answered before
            wait_until(lambda: len(healthy.seen("/ok/warm-")) == 3, timeout=30)
            raise_event(db, stuck.device_id, "alarm")
            wait_until(lambda: len(hanging.seen("/slow/")) >= 1, timeout=30)
            raise_event(db, other.device_id, "alarm")
            wait_until(lambda: len(healthy.seen("/ok/other-")) == 3, timeout=30)
            wait_until(
                lambda: scalar(db, "SELECT count(*) FROM notification_attempts") >= 7, timeout=30
            )
        first_stuck = scalar(
            db, "SELECT min(id) FROM notification_attempts WHERE outcome <> 'delivered'"
        )
        other_pages = db.execute(
            "SELECT a.id FROM notification_attempts a JOIN notifications n"
            " ON n.id = a.notification_id JOIN contacts c ON c.id = n.contact_id"
            " WHERE c.id = ANY(%s) AND a.outcome = 'delivered'",
            (list(other.contacts.values()),),
        ).fetchall()
    assert len(other_pages) == 3
    assert max(p["id"] for p in other_pages) < first_stuck, (
        "the other household was paged while the hanging provider's first attempt was in flight"
    )


def test_retry_is_scheduled_as_a_due_step_not_a_sleep(database_url: str, db) -> None:
    with receiver() as rx:
        failing = seed_household(
            db, lambda name: [rx.url(f"500/{name}"), rx.url(f"ok/{name}")], tag="r1"
        )
        other = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="r2")
        settings = alerting_settings(
            database_url, alerting_backoff_s=8.0, alerting_attempts_per_channel=2
        )
        with running_alerting(settings):
            raise_event(db, failing.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/500/")) == 3, timeout=30)
            # The senders are free during the backoff: another incident goes out at once.
            raise_event(db, other.device_id, "alarm")
            wait_until(lambda: len(rx.seen("/ok/r2-")) == 3, timeout=30)
            rows = db.execute(
                "SELECT n.status, n.lease_owner, n.channel_index, n.channel_attempt,"
                " n.due_at - max(a.at) AS wait, count(a.id) AS tried"
                " FROM notifications n JOIN notification_attempts a ON a.notification_id = n.id"
                " WHERE n.contact_id = ANY(%s) GROUP BY n.id",
                (list(failing.contacts.values()),),
            ).fetchall()
    assert len(rows) == 3
    for row in rows:
        assert (row["status"], row["lease_owner"]) == ("pending", None), "no sender holds it"
        assert (row["channel_index"], row["channel_attempt"], row["tried"]) == (0, 1, 1)
        assert row["wait"].total_seconds() >= 7, "the retry is due after its backoff"
    assert rx.seen("/ok/r1-") == [], "the fallback waits for the retry, not for a sleep"


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env.update(
        {
            "SMOKEWATCH_DATABASE_URL": database_url,
            "SMOKEWATCH_ENVIRONMENT": "test",
            "SMOKEWATCH_ACK_SECRET": SECRET,
            "SMOKEWATCH_ALERTING_LEASE_S": "2",
            "SMOKEWATCH_ALERTING_WAVE2_AFTER_S": "600",
            "SMOKEWATCH_ALERTING_WAVE3_AFTER_S": "1200",
            "SMOKEWATCH_ALERTING_REPEAT_LAST": "0",
            "SMOKEWATCH_ALERTING_METRICS_PORT": "0",
            "SMOKEWATCH_ALERTING_POLL_INTERVAL_S": "0.5",
            "SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S": "1",
            "SMOKEWATCH_ALERTING_ATTEMPTS_PER_CHANNEL": "2",
            "SMOKEWATCH_ALERTING_BACKOFF_S": "0.05",
            "SMOKEWATCH_ALERTING_DIGEST_AT": "off",
        }
    )
    return env


def test_resume_after_worker_killed_mid_retry_at_persisted_channel_and_attempt(
    database_url: str, db, tmp_path
) -> None:
    with receiver() as rx:
        house = seed_household(
            db,
            lambda name: [rx.url(f"500/{name}"), rx.url(f"slow/{name}"), rx.url(f"ok/{name}")],
            tag="k1",
        )
        log = open(tmp_path / "alerting.log", "ab")  # noqa: SIM115 - child's lifetime
        first = subprocess.Popen(
            [sys.executable, "-m", "smokewatch", "alerting"],
            env=_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            raise_event(db, house.device_id, "alarm")
            # Channel 0 failed twice; the first attempt on channel 1 is in flight: kill -9.
            hit = wait_until(lambda: rx.seen("/slow/"), timeout=60)[0]
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            log.close()
        killed_on = hit.path.split("/")[2]
        contact = house.contacts[killed_on.removeprefix("k1-")]
        held = db.execute(
            "SELECT status, channel_index, channel_attempt, lease_owner FROM notifications"
            " WHERE contact_id = %s",
            (contact,),
        ).fetchone()
        assert held is not None
        assert (held["status"], held["channel_index"], held["channel_attempt"]) == (
            "sending",
            1,
            1,
        ), "the place is persisted before the request leaves"

        with running_alerting(alerting_settings(database_url, alerting_request_timeout_s=1.0)):
            wait_until(
                lambda: (
                    scalar(db, "SELECT count(*) FROM notifications WHERE status = 'delivered'") == 3
                ),
                timeout=60,
            )
        resumed = db.execute(
            "SELECT a.channel_index FROM notification_attempts a JOIN notifications n"
            " ON n.id = a.notification_id WHERE n.contact_id = %s AND a.worker LIKE 'test-%%'"
            " ORDER BY a.id",
            (contact,),
        ).fetchall()
    per_person = Counter(r.path.split("/")[2] for r in rx.seen("/500/"))
    assert per_person[killed_on] == 2, "channel 0 was not started again after the kill"
    assert max(per_person.values()) <= 2
    slow = Counter(r.path.split("/")[2] for r in rx.seen("/slow/"))
    assert slow[killed_on] <= 2, "the interrupted attempt counts: at most one more on channel 1"
    assert [r["channel_index"] for r in resumed] in ([1, 2], [2]), "resumed on channel 1 or 2"
    ok = Counter(r.path.split("/")[2] for r in rx.seen("/ok/"))
    assert set(ok.values()) == {1} and len(ok) == 3, "each person paged once on the fallback"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("json://apikey:KEY@127.0.0.1:8080/ok/who", "127.0.0.1:8080"),
        ("jsons://Hooks.Example.com/path?x=1", "hooks.example.com"),
        ("aliyunsms://KeyId:Secret@SMS_1/13800000000?sign=x", "dysmsapi.aliyuncs.com"),
        ("alivoice://KeyId:Secret@TTS_1/13800000000", "dyvmsapi.aliyuncs.com"),
        ("aliyunsms://K:S@SMS_1/13800000000?endpoint=http://127.0.0.1:9000", "127.0.0.1:9000"),
        ("tencentsms://Id:Key@1400000000/1234/+8613800000000", "sms.tencentcloudapi.com"),
        ("wecombot://693a91f6-7xxx", "qyapi.weixin.qq.com"),
        ("dingtalk://token/13800000000", "oapi.dingtalk.com"),
    ],
)
def test_send_host_names_the_destination_a_request_goes_to(db, url: str, host: str) -> None:
    assert scalar(db, "SELECT sw_send_host(%s)", (url,)) == host


def test_each_page_keeps_the_host_of_every_channel_for_the_claim(database_url: str, db) -> None:
    # The claim reads the hosts stored with the page (send_hosts) instead of parsing every
    # URL of its window again; they must be what sw_send_host says of each channel.
    channels = [
        "aliyunsms://K:S@SMS_1/13800000000?endpoint=http://127.0.0.1:9000",
        "wecombot://693a91f6-7xxx",
        "json://127.0.0.1:8080/x",
    ]
    house = seed_household(db, lambda name: channels, tag="hosts")
    settings = alerting_settings(database_url)
    raise_event(db, house.device_id, "alarm")
    processor = EventProcessor(settings, lambda: datetime.now(UTC))
    while processor.process_one(db):
        pass
    rows = db.execute(
        "SELECT channels, send_hosts FROM notifications WHERE contact_id = ANY(%s)",
        (list(house.contacts.values()),),
    ).fetchall()
    assert rows
    for row in rows:
        assert row["send_hosts"] == [
            scalar(db, "SELECT sw_send_host(%s)", (url,)) for url in row["channels"]
        ]
    assert rows[0]["send_hosts"] == ["127.0.0.1:9000", "qyapi.weixin.qq.com", "127.0.0.1:8080"]
    claimed = outbox.claim_due(db, worker="w", now=datetime.now(UTC), limit=1, lease_s=5)
    assert claimed[0]["host"] == "127.0.0.1:9000"
