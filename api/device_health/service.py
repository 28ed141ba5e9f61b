"""Device health reads for the API and the dashboard (docs/health.md).

Functions take a psycopg 3 connection (any row factory; rows come back as dicts) and only
read. The figures are computed by the alerting watchdog (village_health about once a minute,
flags every few minutes); these functions do not recompute them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db import load_queries

Q = load_queries("api.device_health", "queries.sql")
Row = dict[str, Any]


def _rows(conn: psycopg.Connection[Any], name: str, params: dict[str, Any]) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(Q[name], params).fetchall()


def village_health(conn: psycopg.Connection[Any], *, org_id: int | None = None) -> list[Row]:
    """Health figures of every village (or those under ``org_id``), with ``online_rate``."""
    return _rows(conn, "village_health", {"org_id": org_id})


def open_work_orders(
    conn: psycopg.Connection[Any],
    *,
    org_id: int | None = None,
    assigned_to: int | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[Row]:
    """Open work orders, oldest first, with address, room and assignee."""
    return _rows(
        conn,
        "open_work_orders",
        {"org_id": org_id, "assigned_to": assigned_to, "kind": kind, "limit": limit},
    )


def battery_forecast(
    conn: psycopg.Connection[Any],
    *,
    now: datetime,
    device_ids: list[str] | None = None,
    org_id: int | None = None,
    window: timedelta = timedelta(days=90),
    threshold_pct: float = 20.0,
    threshold_mv: float = 2600.0,
    min_samples: int = 3,
) -> list[Row]:
    """Battery trend per device and the predicted date it reaches the replacement threshold.

    ``replace_by`` is None while the line does not fall (or too few samples); ``basis`` says
    whether the fit used percentage or millivolts. Give ``device_ids`` or ``org_id``.
    """
    if device_ids is None:
        if org_id is None:
            raise ValueError("give device_ids or org_id")
        device_ids = [
            r["id"] for r in _rows(conn, "devices_under", {"org_id": org_id, "limit": 5000})
        ]
    return _rows(
        conn,
        "battery_forecast",
        {
            "now": now,
            "device_ids": device_ids,
            "window": window,
            "threshold_pct": threshold_pct,
            "threshold_mv": threshold_mv,
            "min_samples": min_samples,
        },
    )


def health_flags(
    conn: psycopg.Connection[Any], *, status: str | None = "open", org_id: int | None = None
) -> list[Row]:
    """Flapping devices and sites with too many false alarms, newest first."""
    return _rows(conn, "health_flags", {"status": status, "org_id": org_id})


def outages(conn: psycopg.Connection[Any], *, status: str | None = "open") -> list[Row]:
    """Outages (gateway, village, system, ingest) with their affected devices."""
    return _rows(conn, "outages", {"status": status})


__all__ = ["battery_forecast", "health_flags", "open_work_orders", "outages", "village_health"]
