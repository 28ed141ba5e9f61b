"""One device's readings over a time range, raw or bucketed, and its current status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.errors import BadRequest
from api.visibility import NotVisible
from core.db import is_timescale, load_queries

Q = load_queries("api.readings", "queries.sql")
Row = dict[str, Any]

BUCKETS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
}
MAX_ROWS = 10_000


class TooManyPoints(BadRequest):
    """The range holds more raw samples or buckets than one answer may carry."""


class BucketQueries:
    """Which bucketing query this database takes, decided once per process."""

    _timescale: bool | None = None

    @classmethod
    def detect(cls, conn: psycopg.Connection[Any]) -> bool:
        """Ask the database once whether TimescaleDB is installed (at start-up or first use)."""
        if cls._timescale is None:
            cls._timescale = is_timescale(conn)
        return cls._timescale

    @classmethod
    def name(cls, conn: psycopg.Connection[Any]) -> str:
        return "bucketed_readings_timescale" if cls.detect(conn) else "bucketed_readings_plain"


def _aware(value: datetime) -> datetime:
    """Timestamps without a zone are taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def device_status(conn: psycopg.Connection[Any], *, scope: list[str], device_id: str) -> Row:
    """The device's current state, or :class:`NotVisible`."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(Q["device_status"], {"device_id": device_id, "scope": scope})
        .fetchone()
    )
    if row is None:
        raise NotVisible(f"device {device_id}")
    return row


def device_readings(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    device_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: str = "raw",
    limit: int = MAX_ROWS,
) -> Row:
    """Readings of ``device_id`` in [since, until) (default: the last 24 hours)."""
    cur = conn.cursor(row_factory=dict_row)
    if (
        cur.execute(Q["device_in_scope"], {"device_id": device_id, "scope": scope}).fetchone()
        is None
    ):
        raise NotVisible(f"device {device_id}")
    try:
        until = _aware(until) if until else datetime.now(UTC)
        since = _aware(since) if since else until - timedelta(hours=24)
    except OverflowError as exc:
        raise BadRequest("since or until is out of range") from exc
    if since >= until:
        raise BadRequest("since must be before until")
    limit = min(limit, MAX_ROWS)
    params = {"device_id": device_id, "since": since, "until": until, "limit": limit + 1}
    series: Row = {"device_id": device_id, "since": since, "until": until, "bucket": bucket}
    if bucket == "raw":
        rows = cur.execute(Q["raw_readings"], params).fetchall()
        key = "readings"
    else:
        width = BUCKETS[bucket]
        if (until - since) / width > MAX_ROWS:
            raise TooManyPoints(f"more than {MAX_ROWS} buckets of {bucket}; use a wider bucket")
        rows = cur.execute(Q[BucketQueries.name(conn)], {**params, "width": width}).fetchall()
        key = "buckets"
    if len(rows) > limit:
        raise TooManyPoints(f"more than {limit} readings; narrow the range or use a bucket")
    series[key] = rows
    return series
