"""Helpers for the device health tests: a village with devices, hearing them as ingest would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from alerting.processor import EventProcessor
from core.db import load_queries
from core.factory import create_contact, create_devices, create_organisation, create_site
from tests.support.alerting import alerting_settings

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
    org = create_organisation(conn, level="village", code=code, name="南张村")
    site = create_site(conn, org_id=org, name="王秀英家", address="南张村三组7号")
    person = create_contact(
        conn, org_id=org, name="刘维修", role="maintainer", channels=["json://127.0.0.1:9/m"]
    )
    return Village(org, site, person)


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
    ids = [f"{prefix}{n:06d}" for n in range(1, count + 1)]
    create_devices(
        conn,
        device_ids=ids,
        site_ids=[site_id] * count,
        rooms=["卧室"] * count,
        gateway_ids=[gateway] * count,
        status=status,
    )
    return ids


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
