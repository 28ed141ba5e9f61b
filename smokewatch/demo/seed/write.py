"""Write the planned programme to the registry tables, idempotently, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg

from core.db import load_queries
from core.factory import create_contacts, create_device, create_organisation, create_site
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
            org_ids[org.code] = create_organisation(
                conn,
                level=org.level,
                code=org.code,
                name=org.name,
                name_en=org.name_en,
                parent_id=org_ids[org.parent] if org.parent else None,
                if_exists="rename",
            )
        cur.execute(
            QUERIES["upsert_device_model"],
            {"code": DEMO_MODEL, "heartbeat_s": HEARTBEAT_S, "grace_s": GRACE_S},
        )
        site_ids = _write_sites(conn, programme, org_ids)
        _write_contacts(conn, programme, org_ids, site_ids, prefix)
        cur.execute(
            QUERIES["point_channels_at_inbox"],
            {"prefix": prefix, "host": f"127.0.0.1:{inbox_port}"},
        )
        _write_devices(conn, programme, site_ids)
        counts = cur.execute(QUERIES["counts"], {"model_code": DEMO_MODEL}).fetchone()
    assert counts is not None
    return SeedReport(
        households=int(_col(counts, "households", 0)),
        venues=int(_col(counts, "venues", 1)),
        devices=int(_col(counts, "devices", 2)),
    )


def _write_sites(
    conn: psycopg.Connection[Any], programme: Programme, org_ids: dict[str, int]
) -> dict[str, int]:
    """Sites missing from their organisation (by name); every planned site's id by key."""

    def existing() -> dict[tuple[int, str], int]:
        rows = conn.execute(QUERIES["site_ids"], {"org_ids": list(org_ids.values())}).fetchall()
        return {(_col(r, "org_id", 1), _col(r, "name", 2)): int(_col(r, "id", 0)) for r in rows}

    have = existing()
    for s in programme.sites:
        if (org_ids[s.org], s.name) not in have:
            create_site(
                conn,
                org_id=org_ids[s.org],
                kind=s.kind,
                category=s.category,
                name=s.name,
                address=s.address,
                latitude=s.latitude,
                longitude=s.longitude,
                phone=s.phone,
                resident_name=s.resident_name,
                resident_situation=s.situation,
                key_holder_name=s.key_holder_name,
                key_holder_phone=s.key_holder_phone,
                notes=s.notes,
            )
    have = existing()
    return {s.key: have[(org_ids[s.org], s.name)] for s in programme.sites}


def _write_contacts(
    conn: psycopg.Connection[Any],
    programme: Programme,
    org_ids: dict[str, int],
    site_ids: dict[str, int],
    prefix: str,
) -> None:
    """Contacts missing from their site or organisation (by role and phone)."""
    rows = conn.execute(
        QUERIES["contact_keys"],
        {"site_ids": list(site_ids.values()), "org_ids": list(org_ids.values())},
    ).fetchall()
    have = {tuple(_col(r, k, i) for i, k in enumerate(_CONTACT_KEY)) for r in rows}
    missing = []
    for c in programme.contacts:
        site_id = site_ids[c.site] if c.site else None
        org_id = org_ids[c.org] if c.org else None
        if (site_id, org_id, c.role, c.phone) not in have:
            missing.append(
                {"site_id": site_id, "org_id": org_id, "name": c.name, "role": c.role,
                 "priority": c.priority, "phone": c.phone,
                 "channels": [channel_url(prefix, c)]}
            )  # fmt: skip
            have.add((site_id, org_id, c.role, c.phone))
    create_contacts(conn, contacts=missing)


def _write_devices(
    conn: psycopg.Connection[Any], programme: Programme, site_ids: dict[str, int]
) -> None:
    """Devices not registered yet, in service, commissioned when their test event came in."""
    ids = [d.id for d in programme.devices]
    rows = conn.execute(QUERIES["device_ids"], {"ids": ids}).fetchall()
    have = {_col(r, "id", 0) for r in rows}
    for d in programme.devices:
        if d.id in have:
            continue
        tested = d.commissioning.get("test_event_at")
        create_device(
            conn,
            device_id=d.id,
            model_code=DEMO_MODEL,
            site_id=site_ids[d.site],
            room=d.room,
            position=d.position,
            status="in_service",
            installed_at=d.installed_at,
            installed_by=d.installed_by,
            commissioned_at=datetime.fromisoformat(tested) if tested else None,
            commissioning=d.commissioning,
        )


_CONTACT_KEY: Final = ("site_id", "org_id", "role", "phone")


def _col(row: Any, name: str, index: int) -> Any:
    # Works with dict rows (core.db.connect) and tuple rows alike.
    return row[name] if isinstance(row, dict) else row[index]
