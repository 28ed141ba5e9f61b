"""The pending-events gauges, set from the table by the event processors and the self-watch.

Its own module because both need it and the processors already import the self-watch (to page
the centre); the outbox's counterpart is :func:`alerting.outbox.measure_backlog`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from alerting import metrics
from core.db import load_queries

Q = load_queries("alerting", "queries.sql")


@dataclass(frozen=True, slots=True)
class Backlog:
    """Pending events, and how long the oldest due one has waited."""

    pending: int
    oldest_s: float


def measure_event_backlog(conn: psycopg.Connection[Any]) -> Backlog:
    """Set the pending-events gauges from the table and return what they show."""
    row = conn.execute(Q["backlog"]).fetchone() or {}
    backlog = Backlog(int(row.get("pending") or 0), float(row.get("oldest_s") or 0.0))
    metrics.PENDING_EVENTS.set(backlog.pending)
    metrics.PENDING_EVENT_AGE.set(backlog.oldest_s)
    return backlog


__all__ = ["Backlog", "measure_event_backlog"]
