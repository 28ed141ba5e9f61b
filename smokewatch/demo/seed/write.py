"""Write the planned programme to the registry tables, idempotently, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from core.db import load_queries
from smokewatch.demo.seed.plan import Programme, channel_url, plan_programme

QUERIES: Final = load_queries("smokewatch.demo.seed", "seed.sql")
DEMO_MODEL: Final = "sw-demo-1"
HEARTBEAT_S: Final = 60
GRACE_S: Final = 60


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What the registry holds for the demo programme after seeding."""

    households: int
    venues: int
    devices: int


def inbox_prefix(port: int) -> str:
    """Start of every demo contact's Apprise URL: ``json://127.0.0.1:PORT/inbox/``."""
    return f"json://127.0.0.1:{port}/inbox/"


def seed(
    conn: psycopg.Connection[Any], *, inbox_port: int, programme: Programme | None = None
) -> SeedReport:
    """Create what is missing of the demo programme; point its contacts at the inbox."""
    programme = programme or plan_programme()
    prefix = inbox_prefix(inbox_port)
    with conn.transaction(), conn.cursor() as cur:
        org_ids: dict[str, int] = {}
        for org in programme.orgs:  # parents come first in the plan
            row = cur.execute(
                QUERIES["upsert_organisation"],
                {"parent": org.parent, "level": org.level, "code": org.code, "name": org.name,
                 "name_en": org.name_en},
            ).fetchone()  # fmt: skip
            assert row is not None
            org_ids[org.code] = int(_col(row, "id", 0))
        cur.execute(
            QUERIES["upsert_device_model"],
            {"code": DEMO_MODEL, "heartbeat_s": HEARTBEAT_S, "grace_s": GRACE_S},
        )
        cur.executemany(
            QUERIES["insert_site"],
            [
                {"org_id": org_ids[s.org], "kind": s.kind, "category": s.category,
                 "name": s.name, "address": s.address, "latitude": s.latitude,
                 "longitude": s.longitude, "phone": s.phone, "resident_name": s.resident_name,
                 "situation": list(s.situation), "key_holder_name": s.key_holder_name,
                 "key_holder_phone": s.key_holder_phone, "notes": s.notes}
                for s in programme.sites
            ],
        )  # fmt: skip
        rows = cur.execute(QUERIES["site_ids"], {"org_ids": list(org_ids.values())}).fetchall()
        by_name = {(_col(r, "org_id", 1), _col(r, "name", 2)): int(_col(r, "id", 0)) for r in rows}
        site_ids = {s.key: by_name[(org_ids[s.org], s.name)] for s in programme.sites}
        cur.executemany(
            QUERIES["insert_contact"],
            [
                {"site_id": site_ids[c.site] if c.site else None,
                 "org_id": org_ids[c.org] if c.org else None, "name": c.name, "role": c.role,
                 "priority": c.priority, "phone": c.phone, "channels": [channel_url(prefix, c)]}
                for c in programme.contacts
            ],
        )  # fmt: skip
        cur.execute(
            QUERIES["point_channels_at_inbox"],
            {"prefix": prefix, "host": f"127.0.0.1:{inbox_port}"},
        )
        cur.executemany(
            QUERIES["insert_device"],
            [
                {"id": d.id, "model_code": DEMO_MODEL, "site_id": site_ids[d.site],
                 "room": d.room, "position": d.position, "installed_at": d.installed_at,
                 "installed_by": d.installed_by, "commissioning": Jsonb(d.commissioning)}
                for d in programme.devices
            ],
        )  # fmt: skip
        counts = cur.execute(QUERIES["counts"], {"model_code": DEMO_MODEL}).fetchone()
    assert counts is not None
    return SeedReport(
        households=int(_col(counts, "households", 0)),
        venues=int(_col(counts, "venues", 1)),
        devices=int(_col(counts, "devices", 2)),
    )


def _col(row: Any, name: str, index: int) -> Any:
    # Works with dict rows (core.db.connect) and tuple rows alike.
    return row[name] if isinstance(row, dict) else row[index]
