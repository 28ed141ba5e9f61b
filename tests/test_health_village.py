"""village_health: one statement recomputes the figures of every village or community."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg.rows import DictRow

from core.factory import create_device, create_organisation, create_site

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def add_org(db: psycopg.Connection[DictRow], code: str, level: str, parent: int | None) -> int:
    return create_organisation(db, level=level, code=code, name=code, parent_id=parent)


def add_site(db: psycopg.Connection[DictRow], org_id: int, *, archived: bool = False) -> int:
    return create_site(
        db, org_id=org_id, name="h", address="addr", archived_at=NOW if archived else None
    )


def add_device(
    db: psycopg.Connection[DictRow], device_id: str, site_id: int, status: str, **state: object
) -> None:
    create_device(db, device_id=device_id, site_id=site_id, status=status)
    for column, value in state.items():
        db.execute(
            sql.SQL("UPDATE device_state SET {} = %s WHERE device_id = %s").format(
                sql.Identifier(column)
            ),
            (value, device_id),
        )


def test_refresh_village_health_counts_everything_beneath_the_village(
    db: psycopg.Connection[DictRow],
) -> None:
    city = add_org(db, "city", "city", None)
    district = add_org(db, "d1", "district", city)
    sub = add_org(db, "s1", "sub_district", district)
    village = add_org(db, "v1", "village", sub)
    grid = add_org(db, "g1", "grid", village)
    empty = add_org(db, "v2", "community", sub)
    outside = add_org(db, "v3", "village", sub)

    home = add_site(db, grid)
    shop = add_site(db, village)
    add_site(db, grid, archived=True)
    elsewhere = add_site(db, outside)

    add_device(db, "a1", home, "in_service", online=True, battery_low=True)
    add_device(db, "a2", home, "in_service", online=False, last_seen=NOW)
    add_device(db, "a3", shop, "installed", online=True, tamper_active=True, fault_active=True)
    add_device(db, "a4", shop, "in_service")  # never heard from: offline
    add_device(db, "a5", shop, "removed")
    add_device(db, "b1", elsewhere, "in_service", online=True)
    db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at) VALUES"
        " ('a1', %(home)s, 'low_battery', %(old)s, %(old)s),"
        " ('a2', %(home)s, 'offline', %(now)s, %(now)s),"
        " ('b1', %(elsewhere)s, 'fault', %(now)s, %(now)s)",
        {
            "home": home,
            "elsewhere": elsewhere,
            "now": NOW,
            "old": datetime(2026, 11, 1, tzinfo=UTC),
        },
    )
    db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at, status,"
        " closed_at) VALUES ('a3', %s, 'tamper', %s, %s, 'closed', %s)",
        (shop, NOW, NOW, NOW),
    )

    written = db.execute("SELECT sw_refresh_village_health(%s) AS n", (NOW,)).fetchone()

    assert written == {"n": 3}
    rows = {r["org_id"]: r for r in db.execute("SELECT * FROM village_health")}
    assert rows[village] == {
        "org_id": village,
        "as_of": NOW,
        "sites": 2,
        "devices": 4,
        "in_service": 3,
        "online": 2,
        "offline": 2,
        "low_battery": 1,
        "tamper": 1,
        "fault": 1,
        "open_work_orders": 2,
        "oldest_open_work_order_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    assert rows[empty]["devices"] == 0 and rows[empty]["oldest_open_work_order_at"] is None
    assert (rows[outside]["devices"], rows[outside]["open_work_orders"]) == (1, 1)


def test_refresh_village_health_is_repeatable_and_follows_changes(
    db: psycopg.Connection[DictRow],
) -> None:
    village = add_org(db, "v1", "village", None)
    site = add_site(db, village)
    add_device(db, "a1", site, "in_service", online=True)
    db.execute("SELECT sw_refresh_village_health()")

    db.execute("UPDATE device_state SET online = false WHERE device_id = 'a1'")
    db.execute("SELECT sw_refresh_village_health()")

    row = db.execute(
        "SELECT online, offline FROM village_health WHERE org_id = %s", (village,)
    ).fetchone()
    assert row == {"online": 0, "offline": 1}
