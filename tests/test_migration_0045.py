"""Migration 0045 rewrites identities registered before normalisation (issue 17): an upper-case
devEui never matched ChirpStack's lower-case hex; a spelling already taken is left for an
installer to fix rather than merged."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

import core.migrate
from core.factory import create_device
from core.migrate import available_migrations, migrate


def test_migration_0045_normalises_existing_identities(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = available_migrations()
    monkeypatch.setattr(
        core.migrate, "available_migrations", lambda: [m for m in shipped if m.version < 45]
    )
    migrate(empty_database_url)
    before = [
        ("chirpstack", "70-B3-D5-7E-D0-00-12-34", "NZ-M1"),
        ("zigbee2mqtt", "0x00158D0003467624", "NZ-M2"),
        ("zigbee2mqtt", "Kitchen/Smoke", "NZ-M3"),
        ("ctwing", "D01308047F864601A821E02DC328EAB4", "NZ-M4"),
        ("chirpstack", "a84041000181c0de", "NZ-M5"),
        ("chirpstack", "A84041000181C0DE", "NZ-M6"),  # its spelling is taken by NZ-M5
    ]
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for codec, external_id, device_id in before:
            create_device(conn, device_id=device_id)
            conn.execute(
                "INSERT INTO device_identities VALUES (%s, %s, %s)",
                (codec, external_id, device_id),
            )
    monkeypatch.setattr(core.migrate, "available_migrations", lambda: shipped)
    applied = migrate(empty_database_url)
    assert [m.version for m in applied] == [m.version for m in shipped if m.version >= 45]
    with psycopg.connect(empty_database_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT device_id, external_id FROM device_identities ORDER BY device_id"
        ).fetchall()
    assert {r["device_id"]: r["external_id"] for r in rows} == {
        "NZ-M1": "70b3d57ed0001234",
        "NZ-M2": "0x00158d0003467624",
        "NZ-M3": "Kitchen/Smoke",
        "NZ-M4": "d01308047f864601a821e02dc328eab4",
        "NZ-M5": "a84041000181c0de",
        "NZ-M6": "A84041000181C0DE",
    }
