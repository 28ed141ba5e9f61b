"""Registering simulated detectors in a real, migrated database."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

from device_sim.detector import build_fleet, numbered_ids, programme_ids
from device_sim.registration import MODEL_CODE, register_devices, register_programme


def scalar(db: psycopg.Connection[DictRow], query: str) -> object:
    row = db.execute(query).fetchone()
    assert row is not None
    return next(iter(row.values()))


def test_register_programme_sites_devices_and_state_rows(db: psycopg.Connection[DictRow]) -> None:
    fleet = build_fleet(programme_ids(), topic_prefix="smokewatch/v1")
    result = register_programme(db, fleet)
    assert (result.sites, result.devices_added) == (414, 414)
    assert scalar(db, "SELECT count(*) FROM devices WHERE site_id IS NOT NULL") == 414
    assert scalar(db, "SELECT count(*) FROM device_state") == 414
    assert scalar(db, f"SELECT count(*) FROM devices WHERE model_code = '{MODEL_CODE}'") == 414
    kinds = db.execute(
        "SELECT s.kind, count(*) AS n FROM devices d JOIN sites s ON s.id = d.site_id GROUP BY 1"
    ).fetchall()
    assert {r["kind"]: r["n"] for r in kinds} == {"household": 283, "venue": 131}
    path = scalar(
        db,
        "SELECT o.path FROM sites s JOIN organisations o ON o.id = s.org_id"
        " WHERE s.name = '模拟住户 NZ-H0001'",
    )
    assert isinstance(path, str) and path.count(".") == 3  # city > district > sub-district


def test_register_programme_twice_changes_nothing(db: psycopg.Connection[DictRow]) -> None:
    fleet = build_fleet(programme_ids("NZ", 5, 2), topic_prefix="smokewatch/v1")
    first = register_programme(db, fleet)
    again = register_programme(db, fleet)
    assert first.org_id == again.org_id and again.devices_added == 0
    assert scalar(db, "SELECT count(*) FROM sites") == 7
    assert scalar(db, "SELECT count(*) FROM organisations") == 3


def test_register_devices_large_fleet_without_sites(db: psycopg.Connection[DictRow]) -> None:
    ids = numbered_ids("LOAD", 10_000)
    assert register_devices(db, ids) == 10_000
    assert register_devices(db, numbered_ids("LOAD", 10_001)) == 1
    assert scalar(db, "SELECT count(*) FROM device_state") == 10_001
    assert scalar(db, "SELECT count(*) FROM devices WHERE site_id IS NULL") == 10_001
