"""Open or join the incidents of many events in a few statements (alarm storms, issue 22).

Same rules as :func:`core.incidents.lifecycle.open_or_join`, for a batch: one INSERT opens
every incident not yet open, one UPDATE joins the events whose incident was already open, one
INSERT writes their audit rows. The caller holds the transaction; a batch carries at most one
event per device, which the alert engine's claim guarantees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db import load_queries
from core.incidents.errors import InvalidTransition
from core.incidents.lifecycle import Opened

Q = load_queries("core.incidents", "batch.sql")


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One event that opens or joins the (device, kind) incident."""

    device_id: str
    site_id: int | None
    kind: str
    priority: int
    event_id: int
    event_at: datetime
    repage_after: timedelta | None


def open_or_join_many(
    conn: psycopg.Connection[Any], events: Sequence[IncidentEvent], *, now: datetime
) -> list[Opened]:
    """The incident each event landed in, in the order of ``events``."""
    keys = [(e.device_id, e.kind) for e in events]
    if len(set(keys)) != len(keys):
        raise ValueError("a batch holds at most one event per (device, kind)")
    cur = conn.cursor(row_factory=dict_row)
    opened = {
        (row["device_id"], row["kind"]): row
        for row in cur.execute(
            Q["open_incidents"],
            {
                "device_ids": [e.device_id for e in events],
                "site_ids": [e.site_id for e in events],
                "kinds": [e.kind for e in events],
                "priorities": [e.priority for e in events],
                "event_ids": [e.event_id for e in events],
                "event_ats": [e.event_at for e in events],
                "repage_afters": [e.repage_after for e in events],
                "now": now,
            },
        )
    }
    joining = [e for e in events if (e.device_id, e.kind) not in opened]
    joined: dict[tuple[str, str], dict[str, Any]] = {}
    if joining:
        joined = {
            (row["device_id"], row["kind"]): row
            for row in cur.execute(
                Q["join_incidents"],
                {
                    "device_ids": [e.device_id for e in joining],
                    "kinds": [e.kind for e in joining],
                    "priorities": [e.priority for e in joining],
                    "event_ats": [e.event_at for e in joining],
                },
            )
        }
    result: list[Opened] = []
    for key in keys:
        if key in opened:
            result.append(Opened(opened[key], True))
        elif key in joined:
            result.append(Opened(joined[key], False))
        else:  # resolved between the two statements; the unique index keeps us right
            raise InvalidTransition(f"incident of {key} vanished while joining; retry the event")
    cur.execute(
        Q["log_events"],
        {
            "incident_ids": [o.incident["id"] for o in result],
            "actions": ["opened" if o.created else "event_joined" for o in result],
            "event_ids": [e.event_id for e in events],
            "now": now,
        },
    )
    return result
