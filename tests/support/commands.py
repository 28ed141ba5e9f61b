"""Helpers for the command tests: a movable clock, a dispatcher on the test broker, incidents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.commands import Kind, Requester, read_command, request_command
from core.config import parse_mqtt_url
from core.incidents import acknowledge_incident, open_or_join
from ingest.commands.dispatcher import CommandDispatcher
from ingest.commands.transports import Topics
from tests.support import Clock, wait_until
from tests.support.alerting import raise_event


@contextmanager
def running_dispatcher(
    database_url: str, mqtt_url: str, topics: Topics, clock: Clock, **kwargs: Any
) -> Iterator[CommandDispatcher]:
    """The ingest command dispatcher alone (its own MQTT session), polling every 50 ms."""
    import uuid

    dispatcher = CommandDispatcher(
        database_url=database_url,
        endpoint=parse_mqtt_url(mqtt_url),
        client_id=f"test-commands-{uuid.uuid4().hex[:8]}",
        topics=topics,
        poll_s=0.05,
        session_expiry_s=0,
        clock=clock,
        **kwargs,
    )
    dispatcher.start()
    try:
        assert dispatcher.wait_connected(15), "dispatcher did not connect"
        yield dispatcher
    finally:
        dispatcher.stop()


def wait_state(url: str, command_id: int, state: str, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the command reaches ``state``; return its row."""

    def check() -> dict[str, Any] | None:
        with psycopg.connect(url, autocommit=True) as conn:
            row = read_command(conn, command_id)
        return row if row["state"] == state else None

    found: dict[str, Any] = wait_until(check, timeout=timeout)
    return found


def open_incident(
    conn: psycopg.Connection[Any], device_id: str, *, acknowledged_by: str | None = None
) -> int:
    """A fire incident on ``device_id`` (as alerting opens it), acknowledged when asked."""
    event_id = raise_event(conn, device_id, "alarm")
    site = conn.execute("SELECT site_id FROM devices WHERE id = %s", (device_id,)).fetchone()
    assert site is not None
    site_id = site[0] if isinstance(site, tuple) else site["site_id"]
    opened = open_or_join(
        conn, device_id=device_id, site_id=site_id, kind="fire", priority=1,
        event_id=event_id, event_at=datetime.now(UTC), repage_after=None,
    )  # fmt: skip
    incident_id = int(opened.incident["id"])
    if acknowledged_by:
        with conn.transaction():
            acknowledge_incident(conn, incident_id=incident_id, actor=acknowledged_by)
    return incident_id


def ask(
    conn: psycopg.Connection[Any],
    device_id: str,
    kind: Kind,
    *,
    role: str = "installer",
    requested_by: str = "installer",
    **kwargs: Any,
) -> dict[str, Any]:
    """Request one command as ``role`` in its own transaction; the stored command."""
    requester = kwargs.pop("requester", None) or Requester(role=role)
    with conn.transaction():
        row, _ = request_command(
            conn, device_id=device_id, kind=kind, requested_by=requested_by,
            requester=requester, **kwargs,
        )  # fmt: skip
    return row
