"""Dashboard counts, per-village summaries and the map's site states, in the caller's scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db import load_queries

Q = load_queries("api.summary", "queries.sql")
Row = dict[str, Any]


def dashboard(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    org_id: int | None = None,
    days: int = 30,
    tz: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> Row:
    """Health sums from village_health; open incidents, alarms by day and village, fires caught
    early and the false-alarm rate (over ``days``) counted live."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(Q["dashboard"], {"scope": scope, "org_id": org_id, "since": since, "tz": tz})
        .fetchone()
    )
    assert row is not None
    return row


def villages(
    conn: psycopg.Connection[Any], *, scope: list[str], org_id: int | None = None, limit: int = 5000
) -> list[Row]:
    """One row per village or community in scope (under ``org_id`` when given)."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(Q["villages"], {"scope": scope, "org_id": org_id, "limit": limit})
        .fetchall()
    )


def map_sites(
    conn: psycopg.Connection[Any], *, scope: list[str], org_id: int | None = None, limit: int = 5000
) -> list[Row]:
    """Sites with coordinates and state: alarm, fault, offline, ok or no_device."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(Q["map_sites"], {"scope": scope, "org_id": org_id, "limit": limit})
        .fetchall()
    )
