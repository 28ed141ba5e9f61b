"""Periodic health jobs: flapping flagged once, false-alarm sites, end of life, battery trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from alerting.digest import plan_digests
from alerting.health_jobs import refresh_village_health, run_maintenance
from api.device_health import service as device_health
from tests.support.alerting import alerting_settings
from tests.support.health import T0, add_devices, process_events, scalar, seed_village


def add_events(
    conn: psycopg.Connection[DictRow], device: str, types: list[str], start: datetime
) -> None:
    for index, kind in enumerate(types):
        conn.execute(
            "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id)"
            " SELECT id, %(ts)s, %(ts)s, %(key)s, %(type)s, 3, site_id FROM devices"
            " WHERE id = %(device)s",
            {
                "ts": start + timedelta(minutes=10 * index),
                "key": index,
                "type": kind,
                "device": device,
            },
        )


def test_flapping_device_is_flagged_once_with_its_count(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    flappy, steady = add_devices(db, village.site_id, 2)
    add_events(db, flappy, ["offline", "online"] * 4, T0)
    add_events(db, steady, ["offline", "online"], T0)
    now = T0 + timedelta(hours=2)

    first = run_maintenance(db, now=now)
    add_events(db, flappy, ["offline", "online"], T0 + timedelta(hours=3))
    second = run_maintenance(db, now=now + timedelta(hours=2))

    assert first is not None and first.new_flags == (f"flapping_connection:{flappy}",)
    assert second is not None and second.new_flags == ()
    flags = device_health.health_flags(db)
    assert [(f["kind"], f["device_id"], f["count"]) for f in flags] == [
        ("flapping_connection", flappy, 10)
    ]
    # A quiet day clears it.
    run_maintenance(db, now=now + timedelta(days=3))
    assert device_health.health_flags(db) == []


def test_alarm_clear_toggling_is_flagged_as_flapping_alarm(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    (device,) = add_devices(db, village.site_id, 1)
    add_events(db, device, ["alarm", "alarm_cleared"] * 3, T0)

    run_maintenance(db, now=T0 + timedelta(hours=1))

    flags = device_health.health_flags(db)
    assert [(f["kind"], f["count"]) for f in flags] == [("flapping_alarm", 6)]


@pytest.mark.parametrize(("alarms", "flagged"), [(5, False), (6, True)])
def test_site_with_more_than_5_false_alarms_a_day_is_flagged_for_a_visit(
    db: psycopg.Connection[DictRow], alarms: int, flagged: bool
) -> None:
    village = seed_village(db)
    devices = add_devices(db, village.site_id, alarms)
    for device in devices:  # one alarm each, so no device flaps
        add_events(db, device, ["alarm"], T0)

    run_maintenance(db, now=T0 + timedelta(hours=1))

    flags = [(f["kind"], f["site_id"]) for f in device_health.health_flags(db)]
    assert flags == ([("false_alarms", village.site_id)] if flagged else [])


def test_end_of_life_opens_an_assigned_work_order_once(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    old, _new = add_devices(db, village.site_id, 2)
    db.execute(
        "UPDATE devices SET installed_at = CASE id WHEN %s THEN %s ELSE %s END",
        (old, T0 - timedelta(days=3640), T0 - timedelta(days=30)),
    )

    run_maintenance(db, now=T0)
    run_maintenance(db, now=T0 + timedelta(hours=1))

    orders = device_health.open_work_orders(db, kind="end_of_life")
    assert [(o["device_id"], o["assigned_to"]) for o in orders] == [(old, village.maintainer)]
    db.execute("UPDATE devices SET status = 'removed' WHERE id = %s", (old,))
    run_maintenance(db, now=T0 + timedelta(hours=2))
    assert device_health.open_work_orders(db) == []


def test_fault_and_low_battery_events_open_and_close_work_orders(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    (device,) = add_devices(db, village.site_id, 1)
    for index, (kind, data) in enumerate(
        [("fault", '{"code": "chamber_contaminated"}'), ("low_battery", None)]
    ):
        db.execute(
            "WITH e AS (INSERT INTO events (device_id, ts, received_at, msg_key, type, priority,"
            " site_id, data) VALUES (%s, %s, %s, %s, %s, 3, %s, %s) RETURNING id, ts)"
            " INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)"
            " SELECT id, ts, %s, %s, 3 FROM e",
            (device, T0, T0, index, kind, village.site_id, data, device, kind),
        )
    process_events(db, database_url, T0)

    orders = {o["kind"]: o for o in device_health.open_work_orders(db)}
    assert set(orders) == {"fault", "low_battery"}
    assert orders["fault"]["note"] == "chamber_contaminated"
    assert orders["fault"]["assigned_to"] == village.maintainer


def test_battery_forecast_predicts_the_replacement_date(db: psycopg.Connection[DictRow]) -> None:
    village = seed_village(db)
    falling, flat = add_devices(db, village.site_id, 2)
    # 1 % a day: 80 % thirty days ago, 50 % now, 20 % in thirty days.
    db.execute(
        "INSERT INTO readings (device_id, ts, received_at, msg_key, battery_pct)"
        " SELECT %s, %s - make_interval(days => g), %s, g, 50 + g FROM generate_series(0, 30) g",
        (falling, T0, T0),
    )
    db.execute(
        "INSERT INTO readings (device_id, ts, received_at, msg_key, battery_mv)"
        " SELECT %s, %s - make_interval(days => g), %s, g, 3000 FROM generate_series(0, 30) g",
        (flat, T0, T0),
    )

    rows = {
        r["device_id"]: r for r in device_health.battery_forecast(db, now=T0, org_id=village.org_id)
    }

    assert rows[falling]["basis"] == "pct"
    assert rows[falling]["pct_per_day"] == pytest.approx(-1.0)
    assert abs(rows[falling]["replace_by"] - (T0 + timedelta(days=30))) < timedelta(minutes=1)
    assert rows[flat]["basis"] == "mv" and rows[flat]["replace_by"] is None


def test_village_health_refresh_runs_once_a_minute_whoever_asks(
    db: psycopg.Connection[DictRow],
) -> None:
    village = seed_village(db)
    add_devices(db, village.site_id, 3)

    first = refresh_village_health(db, now=T0)
    again = refresh_village_health(db, now=T0 + timedelta(seconds=10))
    later = refresh_village_health(db, now=T0 + timedelta(seconds=61))

    assert (first, again, later) == (1, None, 1)
    (row,) = device_health.village_health(db)
    assert (row["devices"], row["offline"], row["online_rate"]) == (3, 3, 0)


def test_daily_digest_lists_the_maintainers_work_orders(
    db: psycopg.Connection[DictRow], database_url: str
) -> None:
    village = seed_village(db)
    old, _ = add_devices(db, village.site_id, 2)
    db.execute(
        "UPDATE devices SET installed_at = %s WHERE id = %s", (T0 - timedelta(days=3700), old)
    )
    run_maintenance(db, now=T0)
    gone = add_devices(db, village.site_id, 40, prefix="G", gateway="gw-9")
    outage = db.execute(
        "INSERT INTO outages (scope, scope_key, opened_at) VALUES ('gateway', 'gw-9', %s)"
        " RETURNING id",
        (T0,),
    ).fetchone()
    assert outage is not None
    db.execute(
        "INSERT INTO outage_devices (outage_id, device_id, silent_at)"
        " SELECT %s, unnest(%s::text[]), %s",
        (outage["id"], gone, T0),
    )
    settings = alerting_settings(database_url, alerting_digest_at="08:30")
    morning = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai

    planned = plan_digests(db, settings=settings, now=morning)
    again = plan_digests(db, settings=settings, now=morning + timedelta(hours=1))

    assert len(planned) == 1 and again == []
    message: Any = scalar(db, "SELECT messages FROM notifications WHERE id = %s", (planned[0],))
    text = str(message)
    assert "南张村三组7号" in text and "到期" in text
    assert "成片离线 gateway gw-9: 40" in text and text.count("gw-9") == 1
    assert process_events(db, database_url, morning) == 0
