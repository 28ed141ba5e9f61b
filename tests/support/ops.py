"""A small world for the operators' API tests: two villages, households, incidents, pages."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from core.factory import create_contact, create_device, create_organisation, create_site
from core.incidents import open_or_join

_keys = itertools.count(1)


@dataclass
class Village:
    """A village with its path, one household, its detector and people."""

    id: int
    path: str
    site_id: int
    device_id: str
    contacts: dict[str, int] = field(default_factory=dict)

    @property
    def scope(self) -> list[str]:
        return [self.path + "%"]


@dataclass
class World:
    """City > district > sub-district > villages A and B; the duty desk on the sub-district."""

    city_id: int
    sub_district_id: int
    sub_district_path: str
    a: Village
    b: Village
    duty_desk: int

    @property
    def everything(self) -> list[str]:
        return [f"{self.city_id}.%"]


def _org(cur: psycopg.Cursor[Any], level: str, name: str, parent: int | None) -> dict[str, Any]:
    code = f"{level}-{uuid.uuid4().hex[:8]}"
    org_id = create_organisation(
        cur.connection, level=level, code=code, name=name, parent_id=parent
    )
    row = cur.execute("SELECT id, path FROM organisations WHERE id = %s", (org_id,)).fetchone()
    assert row is not None
    return row


def _village(cur: psycopg.Cursor[Any], parent: int, name: str, tag: str) -> Village:
    org = _org(cur, "village", name, parent)
    return household(cur, int(org["id"]), str(org["path"]), name, tag)


def household(cur: psycopg.Cursor[Any], org_id: int, path: str, name: str, tag: str) -> Village:
    """A household at ``org_id`` with one detector in the kitchen, a resident, family and a
    grid worker (on the organisation)."""
    site = create_site(
        cur.connection,
        org_id=org_id,
        name=f"{name}王家",
        address=f"{name}一组{tag}号",
        resident_name=f"王{tag}",
        resident_situation=["独居", "行动不便"],
        latitude=35.4,
        longitude=116.6,
    )
    device = create_device(
        cur.connection,
        device_id=f"T{tag}-{uuid.uuid4().hex[:6]}",
        site_id=site,
        room="厨房",
        position="吊顶",
        status="in_service",
    )
    village = Village(org_id, path, site, device)
    for role, name_ in (("resident", f"王{tag}"), ("family", f"王小{tag}")):
        village.contacts[role] = _contact(cur, name_, role, site_id=village.site_id)
    village.contacts["grid_worker"] = _contact(cur, f"孙网格{tag}", "grid_worker", org_id=org_id)
    return village


def _contact(
    cur: psycopg.Cursor[Any],
    name: str,
    role: str,
    *,
    site_id: int | None = None,
    org_id: int | None = None,
) -> int:
    return create_contact(
        cur.connection,
        site_id=site_id,
        org_id=org_id,
        name=name,
        role=role,
        phone="13800000000",
        channels=["sms://secret@provider/138"],
    )


def seed_world(conn: psycopg.Connection[Any]) -> World:
    """Create the world; ids differ per call, so two worlds never overlap."""
    cur = conn.cursor(row_factory=dict_row)
    city = _org(cur, "city", "济宁市", None)
    district = _org(cur, "district", "任城区", city["id"])
    sub = _org(cur, "sub_district", "南张街道", district["id"])
    a = _village(cur, sub["id"], "南张村", "a")
    b = _village(cur, sub["id"], "北李村", "b")
    desk = _contact(cur, "街道值班室", "duty_desk", org_id=sub["id"])
    return World(int(city["id"]), int(sub["id"]), str(sub["path"]), a, b, desk)


def raise_alarm(
    conn: psycopg.Connection[Any],
    device_id: str,
    *,
    event_type: str = "alarm",
    kind: str = "fire",
    at: datetime | None = None,
) -> int:
    """Store an event and open (or join) its incident as alerting does; return the incident id."""
    at = at or datetime.now(UTC)
    cur = conn.cursor(row_factory=dict_row)
    event = cur.execute(
        "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id, source)"
        " SELECT %s, %s, %s, %s, %s, 1, d.site_id, 'test' FROM devices d WHERE d.id = %s"
        " RETURNING id, site_id",
        (device_id, at, at, next(_keys), event_type, device_id),
    ).fetchone()
    assert event is not None
    opened = open_or_join(
        conn,
        device_id=device_id,
        site_id=event["site_id"],
        kind=kind,
        priority=1,
        event_id=event["id"],
        event_at=at,
        repage_after=None,
        now=at,
    )
    return int(opened.incident["id"])


def page(
    conn: psycopg.Connection[Any],
    incident_id: int,
    contact_id: int,
    *,
    outcome: str = "delivered",
    response: str = '{"errcode": 0}',
) -> int:
    """A page to ``contact_id`` with one attempt, as the alerting worker records them."""
    cur = conn.cursor(row_factory=dict_row)
    now = datetime.now(UTC)
    note = cur.execute(
        "INSERT INTO notifications (purpose, incident_id, contact_id, priority, status, due_at,"
        " channels, messages, sent_at, delivered_via)"
        " VALUES ('page', %s, %s, 1, %s, %s, ARRAY['sms://secret@provider/138'], '{}', %s, %s)"
        " RETURNING id",
        (
            incident_id,
            contact_id,
            "delivered" if outcome == "delivered" else "failed",
            now - timedelta(seconds=1),
            now if outcome == "delivered" else None,
            0 if outcome == "delivered" else None,
        ),
    ).fetchone()
    assert note is not None
    cur.execute(
        "INSERT INTO notification_attempts (notification_id, channel_index, scheme, destination,"
        " outcome, response, elapsed_ms) VALUES (%s, 0, 'sms', '138****', %s, %s, 120)",
        (note["id"], outcome, response),
    )
    return int(note["id"])


@dataclass
class Homes:
    """One household in the API fixtures' village and one in the other village."""

    mine: Village
    other: Village


@pytest.fixture
def homes(api: Any) -> Homes:
    """Two households of :class:`tests.support.api.ApiWorld`'s tree, one on each side."""
    tree = api.tree()
    cur = api.db.cursor(row_factory=dict_row)
    mine = household(cur, tree.grid.id, tree.grid.path, "东村", "e")
    other = household(cur, tree.other_village.id, tree.other_village.path, "西村", "w")
    return Homes(mine, other)
