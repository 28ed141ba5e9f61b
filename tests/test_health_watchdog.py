"""The offline watchdog with a controllable clock: exact deadlines, once, outages, blindness."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import DictRow, dict_row

from alerting.watchdog import Watchdog, WatchdogConfig
from api.device_health import service as device_health
from tests.support import wait_until
from tests.support.alerting import alerting_settings, running_alerting
from tests.support.health import (
    LIVENESS,
    T0,
    add_devices,
    hear,
    hear_again,
    ingest_beat,
    process_events,
    scalar,
    seed_village,
)


def test_sweep_flags_silent_device_at_exactly_its_deadline_once(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    (device,) = add_devices(db, village.site_id, 1)
    hear(db, [device], T0)
    deadline = T0 + LIVENESS
    watchdog = Watchdog()

    before = deadline - timedelta(microseconds=1)
    ingest_beat(db, before)
    assert watchdog.sweep(db, before).flagged == 0
    ingest_beat(db, deadline)
    at_deadline = watchdog.sweep(db, deadline)
    ingest_beat(db, deadline + timedelta(minutes=5))
    later = watchdog.sweep(db, deadline + timedelta(minutes=5))

    assert at_deadline.reported == [device] and later.flagged == 0
    state = db.execute(
        "SELECT online, offline_flagged_at FROM device_state WHERE device_id = %s", (device,)
    ).fetchone()
    assert state == {"online": False, "offline_flagged_at": deadline}
    process_events(db, database_url, deadline)
    orders = device_health.open_work_orders(db)
    assert [(o["kind"], o["device_id"], o["assignee"], o["room"]) for o in orders] == [
        ("offline", device, "刘维修", "卧室")
    ]
    assert orders[0]["address"] == "南张村三组7号"
    assert scalar(db, "SELECT count(*) FROM events WHERE type = 'offline'") == 1


def test_device_back_online_closes_its_work_order(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    (device,) = add_devices(db, village.site_id, 1)
    hear(db, [device], T0)
    deadline = T0 + LIVENESS
    ingest_beat(db, deadline)
    Watchdog().sweep(db, deadline)
    process_events(db, database_url, deadline)

    back = deadline + timedelta(minutes=20)
    hear_again(db, device, back)
    process_events(db, database_url, back)

    order = db.execute("SELECT status, closed_at FROM work_orders").fetchone()
    assert order == {"status": "closed", "closed_at": back}
    assert scalar(db, "SELECT online FROM device_state WHERE device_id = %s", (device,)) is True


def test_sweep_groups_200_silent_devices_behind_one_gateway_into_one_outage(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    behind = add_devices(db, village.site_id, 200, prefix="G", gateway="gw-1")
    others = add_devices(db, village.site_id, 30, prefix="N")
    # The gateway dies at T0; its devices were last heard within the hour before.
    for index, device in enumerate(behind):
        hear(db, [device], T0 - timedelta(seconds=15 * index))
    watchdog = Watchdog()
    now = T0 - timedelta(seconds=15 * 199) + LIVENESS
    while now <= T0 + LIVENESS + timedelta(minutes=1):
        hear(db, others, now - timedelta(minutes=5))  # the rest of the village is fine
        ingest_beat(db, now)
        watchdog.sweep(db, now)
        now += timedelta(seconds=30)
    process_events(db, database_url, now)

    outages = device_health.outages(db)
    assert [(o["scope"], o["scope_key"], o["device_count"]) for o in outages] == [
        ("gateway", "gw-1", 200)
    ]
    assert outages[0]["devices"] == behind
    assert scalar(db, "SELECT count(*) FROM work_orders") == 0
    assert scalar(db, "SELECT count(*) FROM events WHERE type = 'offline'") == 0
    assert scalar(db, "SELECT count(*) FROM device_state WHERE NOT online") == 200

    for device in behind:
        hear_again(db, device, now)
    process_events(db, database_url, now)
    assert device_health.outages(db) == []


def test_ingest_downtime_flags_nobody_and_moves_deadlines_on(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    devices = add_devices(db, village.site_id, 414)
    for index, device in enumerate(devices):
        hear(db, [device], T0 + timedelta(seconds=10 * index))
    ingest_beat(db, T0 + timedelta(hours=1, minutes=30))  # ingest dies here
    watchdog = Watchdog()

    down = [watchdog.sweep(db, T0 + LIVENESS + timedelta(minutes=m)) for m in range(0, 120, 10)]
    back_at = T0 + LIVENESS + timedelta(hours=2)
    ingest_beat(db, back_at)
    back = watchdog.sweep(db, back_at)

    assert {r.blind for r in down} == {"ingest"} and sum(r.flagged for r in down) == 0
    assert back.blind is None and back.flagged == 0 and back.shifted == 414
    assert [o["scope"] for o in device_health.outages(db, status=None)] == ["ingest"]
    assert device_health.outages(db) == []  # closed once ingest was back
    process_events(db, database_url, back_at)
    assert scalar(db, "SELECT count(*) FROM work_orders") == 0

    # Everyone speaks again except one, which is flagged once its moved-on deadline passes.
    hear(db, devices[1:], back_at + timedelta(minutes=1))
    shifted = scalar(
        db, "SELECT offline_deadline FROM device_state WHERE device_id = %s", (devices[0],)
    )
    ingest_beat(db, shifted)
    assert watchdog.sweep(db, shifted).reported == [devices[0]]


def test_system_silence_flags_nobody(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    devices = add_devices(db, village.site_id, 50)
    hear(db, devices, T0)
    now = T0 + LIVENESS + timedelta(minutes=1)
    ingest_beat(db, now, last_message_at=T0)  # ingest is up, nobody talks to it

    result = Watchdog(WatchdogConfig(system_silence_s=600)).sweep(db, now)

    assert result.blind == "system" and result.flagged == 0
    assert [o["scope"] for o in device_health.outages(db)] == ["system"]


def test_two_watchdogs_concurrently_report_each_device_once(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    devices = add_devices(db, village.site_id, 1000)
    for index, device in enumerate(devices):
        hear(db, [device], T0 + timedelta(milliseconds=index))
    now = T0 + LIVENESS + timedelta(seconds=5)
    ingest_beat(db, now)
    reported: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
                # One village going silent would be an outage; here each device is on its own.
                config = WatchdogConfig(batch=20, max_batches=1000, outage_min_devices=10**6)
                watchdog = Watchdog(config)
                for _ in range(5):
                    reported[slot].extend(watchdog.sweep(conn, now).reported)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert sorted(reported[0] + reported[1]) == devices
    assert scalar(db, "SELECT count(*) FROM pending_events WHERE type = 'offline'") == 1000
    assert scalar(db, "SELECT count(DISTINCT device_id) FROM events WHERE type = 'offline'") == 1000


def test_alerting_service_runs_the_watchdog_and_opens_the_work_order(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    (device,) = add_devices(db, village.site_id, 1)
    now = datetime.now(UTC)
    hear(db, [device], now - LIVENESS - timedelta(seconds=1))
    ingest_beat(db, now + timedelta(seconds=1))
    settings = alerting_settings(database_url, alerting_watchdog_interval_s=0.2)

    with running_alerting(settings):
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM work_orders WHERE kind = 'offline'") == 1
        )
        wait_until(lambda: device_health.village_health(db))

    assert scalar(db, "SELECT count(*) FROM events WHERE type = 'offline'") == 1
    (row,) = device_health.village_health(db)
    assert row["org_id"] == village.org_id


def test_sweep_groups_a_silent_village_into_one_outage(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    devices = add_devices(db, village.site_id, 30)  # no gateway: NB-IoT, say
    hear(db, devices, T0)
    now = T0 + LIVENESS
    ingest_beat(db, now)

    result = Watchdog().sweep(db, now)

    assert result.reported == [] and [len(v) for v in result.grouped.values()] == [30]
    outages = device_health.outages(db)
    assert [(o["scope"], o["org_id"], o["device_count"]) for o in outages] == [
        ("village", village.org_id, 30)
    ]


def test_sweep_reports_one_dead_device_behind_a_healthy_gateway_alone(
    db: psycopg.Connection[DictRow],
) -> None:
    village = seed_village(db)
    dead, *alive = add_devices(db, village.site_id, 20, gateway="gw-2")
    hear(db, [dead], T0)
    now = T0 + LIVENESS
    hear(db, alive, now - timedelta(minutes=10))
    ingest_beat(db, now)

    result = Watchdog().sweep(db, now)

    assert result.reported == [dead] and result.grouped == {}
    assert device_health.outages(db) == []
