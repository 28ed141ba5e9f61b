"""Events by device, site, organisation, type and time range, in the caller's scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.errors import BadRequest
from core.db import load_queries

Q = load_queries("api.events", "queries.sql")
Row = dict[str, Any]

TOTAL_CAP = 10_000
DEFAULT_WINDOW = timedelta(hours=24)


def list_events(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    since: datetime | None = None,
    until: datetime | None = None,
    device_id: str | None = None,
    site_id: int | None = None,
    org_id: int | None = None,
    event_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, bool, list[Row]]:
    """Newest first; the window defaults to the 24 hours before ``until`` (or now).

    Returns (total, capped, items): ``total`` stops at TOTAL_CAP and ``capped`` says so.
    """
    until = until or datetime.now(UTC)
    try:
        since = since or until - DEFAULT_WINDOW
    except OverflowError as exc:
        raise BadRequest("until is out of range") from exc
    params = {
        "scope": scope,
        "since": since,
        "until": until,
        "device_id": device_id,
        "site_id": site_id,
        "org_id": org_id,
        "type": event_type,
        "limit": limit,
        "offset": offset,
        "cap": TOTAL_CAP + 1,
    }
    cur = conn.cursor(row_factory=dict_row)
    # Never a prepared (generic) plan: the optional filters are "IS NULL OR", and only a plan
    # made for the actual values picks the device or site index over a day of the whole city.
    items = cur.execute(Q["list_events"], params, prepare=False).fetchall()
    counted = cur.execute(Q["count_events"], params, prepare=False).fetchone()
    total = int(counted["total"]) if counted else 0
    return min(total, TOTAL_CAP), total > TOTAL_CAP, items
