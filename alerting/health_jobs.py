"""Periodic health jobs: village figures, end-of-life work orders, flapping and false-alarm flags.

Each job runs under a transaction-scoped advisory lock that the other alerting workers try
without waiting, so however many workers run, one does the job and the others skip the round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from core.db import load_queries

log = logging.getLogger(__name__)
Q = load_queries("alerting", "health.sql")

VILLAGE_HEALTH_LOCK = 5351
MAINTENANCE_LOCK = 5352
# GB 50440: more than 5 false alarms a day at one site calls for a visit or relocation.
FALSE_ALARMS_PER_DAY = 5


@dataclass(frozen=True, slots=True)
class JobsConfig:
    """How often and with which thresholds the jobs run."""

    village_health_every_s: float = 60.0
    flap_window: timedelta = timedelta(hours=24)
    flap_threshold: int = 6
    end_of_life_lead: timedelta = timedelta(days=30)


def _try_lock(conn: psycopg.Connection[Any], key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS got", (key,)).fetchone()
    return bool(row and row["got"])


def refresh_village_health(
    conn: psycopg.Connection[Any], *, now: datetime, every_s: float = 60.0
) -> int | None:
    """Recompute village_health unless another worker did within ``every_s``; rows or None."""
    with conn.transaction():
        if not _try_lock(conn, VILLAGE_HEALTH_LOCK):
            return None
        age = conn.execute(Q["village_health_age"]).fetchone()
        last = age["as_of"] if age else None
        if last is not None and now - last < timedelta(seconds=every_s * 0.9):
            return None
        row = conn.execute(Q["refresh_village_health"], {"now": now}).fetchone()
    return int(row["villages"]) if row else 0


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    """What one maintenance round changed."""

    end_of_life: int = 0
    closed_removed: int = 0
    new_flags: tuple[str, ...] = ()
    cleared_flags: int = 0


def run_maintenance(
    conn: psycopg.Connection[Any], *, now: datetime, config: JobsConfig | None = None
) -> MaintenanceResult | None:
    """End-of-life orders, orders of removed devices, flapping and false-alarm flags."""
    config = config or JobsConfig()
    with conn.transaction():
        if not _try_lock(conn, MAINTENANCE_LOCK):
            return None
        eol = conn.execute(
            Q["open_end_of_life"], {"now": now, "lead": config.end_of_life_lead}
        ).fetchall()
        removed = conn.execute(Q["close_removed_orders"], {"now": now}).fetchall()
        flags = conn.execute(
            Q["flag_flapping"],
            {"now": now, "window": config.flap_window, "threshold": config.flap_threshold},
        ).fetchall()
        flags += conn.execute(
            Q["flag_false_alarms"], {"now": now, "limit": FALSE_ALARMS_PER_DAY}
        ).fetchall()
        cleared = conn.execute(
            Q["clear_quiet_flags"], {"now": now, "window": config.flap_window}
        ).fetchall()
    new = tuple(f"{f['kind']}:{f['subject']}" for f in flags if f["created"])
    for flag in new:
        log.warning("health flag raised: %s", flag)
    return MaintenanceResult(len(eol), len(removed), new, len(cleared))


def storage_health(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], float]:
    """Retention, compression and aggregate freshness by their effects, keyed (metric, table)."""
    return {
        (row["metric"], row["tbl"]): float(row["value"])
        for row in conn.execute(Q["storage_health"])
        if row["value"] is not None
    }


__all__ = [
    "JobsConfig",
    "MaintenanceResult",
    "refresh_village_health",
    "run_maintenance",
    "storage_health",
]
