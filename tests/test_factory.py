"""core.factory: the rows it makes carry the schema's defaults, bulk seeds are repeatable."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from core.factory import (
    create_contact,
    create_contacts,
    create_device,
    create_devices,
    create_organisation,
    create_site,
    create_sites,
)


def _org(db: psycopg.Connection[Any]) -> int:
    return create_organisation(db, level="village", code="f-v1", name="南张村")


def test_create_rows_with_defaults_equal_to_schema_defaults(db) -> None:
    org = _org(db)
    site = create_site(db, org_id=org, name="王家", address="南张村1号")
    device = create_device(db, device_id="F-1", site_id=site)
    contact = create_contact(db, site_id=site, name="王小明", role="family")
    # The same rows written with only the required columns take the schema's own defaults.
    bare_site = db.execute(
        "INSERT INTO sites (org_id, kind, category, name, address) VALUES"
        " (%s, 'household', 'elderly_alone', '李家', '南张村2号') RETURNING id",
        (org,),
    ).fetchone()["id"]
    db.execute("INSERT INTO devices (id, model_code) VALUES ('F-2', 'sw-native-1')")
    bare_contact = db.execute(
        "INSERT INTO contacts (site_id, name, role) VALUES (%s, '李明', 'family') RETURNING id",
        (bare_site,),
    ).fetchone()["id"]

    def row(table: str, key: object, skip: set[str]) -> dict[str, Any]:
        got = db.execute(f"SELECT * FROM {table} WHERE id = %s", (key,)).fetchone()
        return {k: v for k, v in got.items() if k not in skip}

    moving = {"id", "name", "address", "created_at", "updated_at", "site_id"}
    assert row("sites", site, moving) == row("sites", bare_site, moving)
    assert row("devices", device, moving) == row("devices", "F-2", moving | {"site_id"})
    assert row("contacts", contact, moving) == row("contacts", bare_contact, moving)
    assert (
        db.execute("SELECT count(*) FROM device_state WHERE device_id = 'F-1'").fetchone()["count"]
        == 1
    )


def test_create_organisation_keeps_or_renames_the_existing_one(db) -> None:
    first = create_organisation(db, level="village", code="f-v2", name="北李村")
    with pytest.raises(psycopg.errors.UniqueViolation):
        create_organisation(db, level="village", code="f-v2", name="北李村")
    again = create_organisation(
        db, level="village", code="f-v2", name="另一个名字", if_exists="keep"
    )
    assert again == first
    names = "SELECT name, name_en FROM organisations WHERE id = %s"
    assert db.execute(names, (first,)).fetchone() == {"name": "北李村", "name_en": None}
    renamed = create_organisation(
        db, level="village", code="f-v2", name="北李新村", name_en="Beili", if_exists="rename"
    )
    assert renamed == first
    assert db.execute(names, (first,)).fetchone() == {"name": "北李新村", "name_en": "Beili"}


def test_bulk_sites_and_devices_leave_existing_rows_alone(db) -> None:
    org = _org(db)
    names = [f"户{n}" for n in range(3)]
    sites = create_sites(
        db,
        org_id=org,
        names=names,
        addresses=[f"地址{n}" for n in range(3)],
        situations=["独居", None, "失智"],
    )
    assert sorted(sites) == sorted(names)
    again = create_sites(db, org_id=org, names=[*names, "户3"], addresses=["x"] * 4)
    assert {k: again[k] for k in names} == sites and len(again) == 4
    situations = db.execute(
        "SELECT name, resident_situation FROM sites WHERE org_id = %s ORDER BY name", (org,)
    ).fetchall()
    assert [r["resident_situation"] for r in situations] == [["独居"], [], ["失智"], []]

    ids = ["F-B1", "F-B2"]
    added = create_devices(
        db, device_ids=ids, site_ids=[sites["户0"], None], rooms=["厨房", None], status="installed"
    )
    assert added == 2
    assert create_devices(db, device_ids=[*ids, "F-B3"]) == 1
    rows = db.execute("SELECT id, site_id, room, status FROM devices ORDER BY id").fetchall()
    assert [tuple(r.values()) for r in rows] == [
        ("F-B1", sites["户0"], "厨房", "installed"),
        ("F-B2", None, None, "installed"),
        ("F-B3", None, None, "registered"),
    ]


def test_bulk_contacts_take_the_same_defaults_as_one(db) -> None:
    org = _org(db)
    create_contacts(
        db,
        contacts=[
            {"org_id": org, "name": "孙网格", "role": "grid_worker", "channels": ["json://x/1"]},
            {"org_id": org, "name": "周村委", "role": "village_cadre", "phone": "138"},
        ],
    )
    rows = db.execute(
        "SELECT name, channels, phone, priority, locale, active FROM contacts ORDER BY id"
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == [
        ("孙网格", ["json://x/1"], None, 1, "zh-CN", True),
        ("周村委", [], "138", 1, "zh-CN", True),
    ]
