"""Registry rows made in one place: organisations, sites, devices and contacts.

Tests, benchmarks, the demo seed and the simulator's registration create these rows through
the keyword-only functions here (SQL in factory.sql) instead of writing their own INSERTs.
Arguments left out take the schema's defaults; functions return the new row's id. They take a
psycopg 3 connection with any row factory and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any, Final, Literal

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from core.db import load_queries

Q: Final = load_queries("core", "factory.sql")
NATIVE_MODEL: Final = "sw-native-1"


def _id(conn: psycopg.Connection[Any], name: str, params: dict[str, Any]) -> int:
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(Q[name], params).fetchone()
    assert row is not None
    return int(row[0])


def create_organisation(
    conn: psycopg.Connection[Any],
    *,
    level: str,
    code: str,
    name: str,
    name_en: str | None = None,
    parent_id: int | None = None,
    if_exists: Literal["fail", "keep", "rename"] = "fail",
) -> int:
    """A new organisation; its id. ``code`` is unique: when it is taken, ``fail`` raises,
    ``keep`` returns the existing one as it is, ``rename`` gives it ``name`` and ``name_en``."""
    params: dict[str, Any] = {"level": level, "code": code, "name": name, "name_en": name_en}
    params |= {"parent_id": parent_id, "rename": if_exists == "rename"}
    return _id(
        conn, "create_organisation" if if_exists == "fail" else "ensure_organisation", params
    )


def create_site(
    conn: psycopg.Connection[Any],
    *,
    org_id: int,
    name: str,
    address: str,
    kind: str = "household",
    category: str = "elderly_alone",
    latitude: float | None = None,
    longitude: float | None = None,
    phone: str | None = None,
    resident_name: str | None = None,
    resident_situation: Sequence[str] = (),
    key_holder_name: str | None = None,
    key_holder_phone: str | None = None,
    risk_flags: Sequence[str] = (),
    notes: str | None = None,
    archived_at: datetime | None = None,
) -> int:
    """A new household (by default) or venue under ``org_id``; its id."""
    return _id(
        conn,
        "create_site",
        {
            "org_id": org_id,
            "kind": kind,
            "category": category,
            "name": name,
            "address": address,
            "latitude": latitude,
            "longitude": longitude,
            "phone": phone,
            "resident_name": resident_name,
            "resident_situation": list(resident_situation),
            "key_holder_name": key_holder_name,
            "key_holder_phone": key_holder_phone,
            "risk_flags": list(risk_flags),
            "notes": notes,
            "archived_at": archived_at,
        },
    )


def create_sites(
    conn: psycopg.Connection[Any],
    *,
    org_id: int,
    names: Sequence[str],
    addresses: Sequence[str],
    kinds: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    latitudes: Sequence[float | None] | None = None,
    longitudes: Sequence[float | None] | None = None,
    resident_names: Sequence[str | None] | None = None,
    situations: Sequence[str | None] | None = None,
) -> dict[str, int]:
    """Many sites of ``org_id`` in one statement; their ids by name.

    Lists run parallel to ``names`` (None: households of elderly people living alone, the
    rest null); ``situations`` gives each resident one situation. A name the organisation
    already has is left alone (bulk seeds are repeatable) and its id returned.
    """
    n = len(names)
    nulls: list[Any] = [None] * n
    conn.execute(
        Q["create_sites"],
        {
            "org_id": org_id,
            "names": list(names),
            "addresses": list(addresses),
            "kinds": ["household"] * n if kinds is None else list(kinds),
            "categories": ["elderly_alone"] * n if categories is None else list(categories),
            "latitudes": nulls if latitudes is None else list(latitudes),
            "longitudes": nulls if longitudes is None else list(longitudes),
            "resident_names": nulls if resident_names is None else list(resident_names),
            "situations": nulls if situations is None else list(situations),
        },
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(Q["site_ids"], {"org_id": org_id, "names": list(names)}).fetchall()
    return {str(name): int(site_id) for name, site_id in rows}


def create_device(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    model_code: str = NATIVE_MODEL,
    site_id: int | None = None,
    room: str | None = None,
    position: str | None = None,
    status: str = "registered",
    installed_at: datetime | None = None,
    installed_by: str | None = None,
    commissioned_at: datetime | None = None,
    commissioning: dict[str, Any] | None = None,
    notes: str | None = None,
    stock_org_id: int | None = None,
    gateway_id: str | None = None,
) -> str:
    """A new device (a duplicate id is an error); its id."""
    conn.execute(
        Q["create_device"],
        {
            "id": device_id,
            "model_code": model_code,
            "site_id": site_id,
            "room": room,
            "position": position,
            "status": status,
            "installed_at": installed_at,
            "installed_by": installed_by,
            "commissioned_at": commissioned_at,
            "commissioning": None if commissioning is None else Jsonb(commissioning),
            "notes": notes,
            "stock_org_id": stock_org_id,
            "gateway_id": gateway_id,
        },
    )
    return device_id


def create_devices(
    conn: psycopg.Connection[Any],
    *,
    device_ids: Sequence[str],
    model_code: str = NATIVE_MODEL,
    site_ids: Sequence[int | None] | None = None,
    rooms: Sequence[str | None] | None = None,
    gateway_ids: Sequence[str | None] | None = None,
    status: str = "registered",
    installed_at: datetime | None = None,
    installed_by: str | None = None,
) -> int:
    """Many devices in one statement, ids already registered left alone; how many were added.

    ``site_ids``, ``rooms`` and ``gateway_ids`` run parallel to ``device_ids`` (None: all null).
    """
    ids = list(device_ids)
    nulls: list[Any] = [None] * len(ids)
    cur = conn.execute(
        Q["create_devices"],
        {
            "ids": ids,
            "site_ids": nulls if site_ids is None else list(site_ids),
            "rooms": nulls if rooms is None else list(rooms),
            "gateway_ids": nulls if gateway_ids is None else list(gateway_ids),
            "model_code": model_code,
            "status": status,
            "installed_at": installed_at,
            "installed_by": installed_by,
        },
    )
    return max(cur.rowcount, 0)


def create_contact(conn: psycopg.Connection[Any], *, name: str, role: str, **optional: Any) -> int:
    """A new contact of a site or an organisation (at least one of the two); its id.

    ``optional``: the columns of :func:`_contact` (site_id, org_id, phone, channels, ...).
    """
    return _id(conn, "create_contact", _contact(name=name, role=role, **optional))


def create_contacts(conn: psycopg.Connection[Any], *, contacts: Iterable[dict[str, Any]]) -> None:
    """Many contacts in one pipelined batch; each dict holds :func:`create_contact`'s keywords."""
    with conn.cursor() as cur:
        cur.executemany(Q["create_contact"], [_contact(**c) for c in contacts])


def _contact(
    *,
    name: str,
    role: str,
    site_id: int | None = None,
    org_id: int | None = None,
    priority: int = 1,
    phone: str | None = None,
    channels: Sequence[str] = (),
    quiet_hours_start: time | None = None,
    quiet_hours_end: time | None = None,
    locale: str = "zh-CN",
    active: bool = True,
) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "org_id": org_id,
        "name": name,
        "role": role,
        "priority": priority,
        "phone": phone,
        "channels": list(channels),
        "quiet_hours_start": quiet_hours_start,
        "quiet_hours_end": quiet_hours_end,
        "locale": locale,
        "active": active,
    }
