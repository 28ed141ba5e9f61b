"""Helpers for the device health tests: a village with devices, hearing them as ingest would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from alerting.processor import EventProcessor
from core.db import load_queries
from tests.alerting_support import alerting_settings

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
# sw-native-1: heartbeat 1 h, offline after 2 missed periods plus 10 minutes of grace.
LIVENESS = timedelta(hours=2, minutes=10)
INGEST_Q = load_queries("ingest", "queries.sql")


@dataclass(frozen=True)
class Village:
    org_id: int
    site_id: int
    maintainer: int


def seed_village(conn: psycopg.Connection[Any], code: str = "v1") -> Village:
    """A village with one household and a maintainer."""
    org = conn.execute(
        "INSERT INTO organisations (level, code, name) VALUES ('village', %s, '南张村')"
        " RETURNING id",
        (code,),
    ).fetchone()
    assert org is not None
    site = conn.execute(
        "INSERT INTO sites (org_id, kind, category, name, address) VALUES"
        " (%s, 'household', 'elderly_alone', '王秀英家', '南张村三组7号') RETURNING id",
        (org["id"],),
    ).fetchone()
    assert site is not None
    person = conn.execute(
        "INSERT INTO contacts (org_id, name, role, channels) VALUES"
        " (%s, '刘维修', 'maintainer', ARRAY['json://127.0.0.1:9/m']) RETURNING id",
        (org["id"],),
    ).fetchone()
    assert person is not None
    return Village(int(org["id"]), int(site["id"]), int(person["id"]))


def add_devices(
    conn: psycopg.Connection[Any],
    site_id: int,
    count: int,
    *,
    prefix: str = "D",
    gateway: str | None = None,
    status: str = "in_service",
) -> list[str]:
    """Register ``count`` devices at the site (through ``gateway``); return their ids."""
    rows = conn.execute(
        "INSERT INTO devices (id, model_code, site_id, room, status, gateway_id)"
        " SELECT %s || lpad(g::text, 6, '0'), 'sw-native-1', %s, '卧室', %s, %s"
        " FROM generate_series(1, %s) g RETURNING id",
        (prefix, site_id, status, gateway, count),
    ).fetchall()
    return sorted(r["id"] for r in rows)


def hear(conn: psycopg.Connection[Any], device_ids: list[str], at: datetime) -> None:
    """What ingest does to a device's state on any message."""
    conn.execute(
        "UPDATE device_state SET last_seen = %(at)s, offline_deadline = %(at)s + liveness,"
        " online = true WHERE device_id = ANY(%(ids)s)",
        {"at": at, "ids": device_ids},
    )


def hear_again(conn: psycopg.Connection[Any], device_id: str, at: datetime) -> None:
    """A device flagged offline speaks again: ingest's state update and `online` event."""
    was = conn.execute(INGEST_Q["lock_state"], {"device_id": device_id}).fetchone()
    hear(conn, [device_id], at)
    if was and was["was_offline"]:
        conn.execute(
            INGEST_Q["insert_back_online_event"], {"device_id": device_id, "received_at": at}
        )


def ingest_beat(
    conn: psycopg.Connection[Any], at: datetime, *, last_message_at: datetime | None = None
) -> None:
    """Ingest's heartbeat row as of ``at``."""
    conn.execute(
        "INSERT INTO service_heartbeats (service, instance, started_at, beat_at, last_message_at)"
        " VALUES ('ingest', 'i1', %(at)s, %(at)s, %(heard)s)"
        " ON CONFLICT (service, instance) DO UPDATE SET beat_at = EXCLUDED.beat_at,"
        " last_message_at = EXCLUDED.last_message_at",
        {"at": at, "heard": last_message_at or at},
    )


def process_events(conn: psycopg.Connection[Any], database_url: str, now: datetime) -> int:
    """Run the event processor over every pending event at ``now``; return how many."""
    processor = EventProcessor(alerting_settings(database_url), lambda: now)
    handled = 0
    while processor.process_one(conn) is not None:
        handled += 1
    return handled


def scalar(conn: psycopg.Connection[Any], sql: Any, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return next(iter(row.values()))
