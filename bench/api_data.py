"""Generate the API benchmark's data set: a city with ``devices`` detectors and their readings.

The hierarchy is realistic in shape: one city, up to 20 districts, 5 sub-districts each, 10
villages per sub-district, about 1,000 devices per village at 600 households (some homes have
two or three detectors). Readings are hourly per device, newest first in time-major order as
ingest writes them; the readings unique index is dropped during the load and built once after
(a sorted build instead of 50 million random inserts into a 3 GB btree).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from core.db import load_queries

Q = load_queries("bench", "api_data.sql")
log = logging.getLogger(__name__)

DEVICES_PER_VILLAGE = 1000
SITES_PER_VILLAGE = 600
VILLAGES_PER_SUB_DISTRICT = 10
SUB_DISTRICTS_PER_DISTRICT = 5
MAX_DISTRICTS = 20
READINGS_KEY = "readings_device_id_ts_msg_key_key"


@dataclass(frozen=True)
class Shape:
    """How many of each thing a run generates."""

    devices: int
    readings: int

    @property
    def villages(self) -> int:
        return max(1, math.ceil(self.devices / DEVICES_PER_VILLAGE))

    @property
    def sub_districts(self) -> int:
        return max(1, math.ceil(self.villages / VILLAGES_PER_SUB_DISTRICT))

    @property
    def districts(self) -> int:
        return min(
            MAX_DISTRICTS, max(1, math.ceil(self.sub_districts / SUB_DISTRICTS_PER_DISTRICT))
        )

    @property
    def hours(self) -> int:
        return max(1, math.ceil(self.readings / self.devices))


def _step(conn: psycopg.Connection[Any], name: str, params: dict[str, Any] | None = None) -> int:
    started = time.monotonic()
    cur = conn.execute(Q[name], params or {})
    log.info("%s: %s rows in %.1f s", name, cur.rowcount, time.monotonic() - started)
    return cur.rowcount


def generate(url: str, shape: Shape) -> None:
    """Fill a migrated, empty database with ``shape``; commits as it goes."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        row = conn.execute(Q["city"]).fetchone()
        assert row is not None
        city = row[0]
        _step(conn, "districts", {"parent": city, "count": shape.districts})
        _step(conn, "sub_districts", {"parents": shape.districts, "count": shape.sub_districts})
        _step(conn, "villages", {"parents": shape.sub_districts, "count": shape.villages})
        per_village = max(1, round(SITES_PER_VILLAGE * shape.devices / (shape.villages * 1000)))
        _step(conn, "sites", {"per_village": per_village})
        first, count = conn.execute("SELECT min(id), count(*) FROM sites").fetchone() or (1, 1)
        conn.execute("ALTER TABLE devices DISABLE TRIGGER devices_state_row")
        _step(conn, "devices", {"first_site": first, "sites": count, "count": shape.devices})
        conn.execute("ALTER TABLE devices ENABLE TRIGGER devices_state_row")
        _step(conn, "device_states")
        _load_readings(conn, shape)
        _step(
            conn,
            "incidents_resolved",
            {"count": max(10, shape.devices // 50), "devices": shape.devices},
        )
        _step(
            conn,
            "incidents_open",
            {"count": max(5, shape.devices // 3000), "devices": shape.devices},
        )
        _step(conn, "work_orders")
        started = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        log.info("vacuum analyze in %.1f s", time.monotonic() - started)


def _load_readings(conn: psycopg.Connection[Any], shape: Shape) -> None:
    plain = not conn.execute("SELECT sw_timescale_enabled()").fetchone()[0]  # type: ignore[index]
    if plain:
        conn.execute(f"ALTER TABLE readings DROP CONSTRAINT {READINGS_KEY}")
    for hour in range(shape.hours):
        _step(conn, "readings_hour", {"hour": hour, "devices": shape.devices})
    if plain:
        started = time.monotonic()
        conn.execute(
            f"ALTER TABLE readings ADD CONSTRAINT {READINGS_KEY} UNIQUE (device_id, ts, msg_key)"
        )
        log.info("readings unique index built in %.1f s", time.monotonic() - started)
