"""The outbox as the senders see it: claim due rows under a lease, finish them, sweep.

A claimed row is 'sending' with ``lease_owner`` and ``lease_until``; the sender extends the
lease before every attempt, so only a dead worker's rows expire, and the sweeper returns
them to 'pending'. Finishing checks the lease owner, so a worker that lost its lease can
never overwrite the row another worker now holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from core.db import load_queries
from core.incidents import log_action

Q = load_queries("alerting", "outbox.sql")
Row = dict[str, Any]


def claim_due(
    conn: psycopg.Connection[Any], *, worker: str, now: datetime, limit: int, lease_s: float
) -> list[Row]:
    """Claim up to ``limit`` due notifications, most urgent first."""
    with conn.transaction():
        return list(
            conn.execute(
                Q["claim_due"], {"worker": worker, "now": now, "limit": limit, "lease": lease_s}
            )
        )


def next_due(conn: psycopg.Connection[Any]) -> datetime | None:
    """When the earliest pending notification is due."""
    row = conn.execute(Q["next_due"]).fetchone()
    return row["due_at"] if row else None


def extend_lease(
    conn: psycopg.Connection[Any], *, notification_id: int, worker: str, lease_s: float
) -> tuple[bool, str | None]:
    """(still ours, incident status)."""
    row = conn.execute(
        Q["extend_lease"], {"id": notification_id, "worker": worker, "lease": lease_s}
    ).fetchone()
    return (row is not None, row["incident_status"] if row else None)


def record_attempt(conn: psycopg.Connection[Any], **values: Any) -> None:
    """Keep one attempt with the provider's answer."""
    conn.execute(Q["record_attempt"], values)


def mark_delivered(
    conn: psycopg.Connection[Any],
    *,
    notification_id: int,
    worker: str,
    channel_index: int,
    attempts: int,
    via: str,
) -> Row | None:
    """Delivered: note it on the row and in the incident's audit log."""
    with conn.transaction():
        row = conn.execute(
            Q["mark_delivered"],
            {
                "id": notification_id,
                "worker": worker,
                "channel_index": channel_index,
                "attempts": attempts,
            },
        ).fetchone()
        if row and row["incident_id"]:
            log_action(
                conn,
                incident_id=row["incident_id"],
                action="delivered",
                at=row["sent_at"],
                contact_id=row["contact_id"],
                detail={"notification_id": notification_id, "wave": row["wave"], "via": via},
            )
        return row


def mark_failed(
    conn: psycopg.Connection[Any],
    *,
    notification_id: int,
    worker: str,
    attempts: int,
    error: str,
    status: str = "failed",
    now: datetime | None = None,
) -> Row | None:
    """Failed on every channel (or cancelled because someone answered)."""
    with conn.transaction():
        row = conn.execute(
            Q["mark_failed"],
            {
                "id": notification_id,
                "worker": worker,
                "attempts": attempts,
                "error": error[:500],
                "status": status,
            },
        ).fetchone()
        if row and row["incident_id"] and status == "failed" and now is not None:
            log_action(
                conn,
                incident_id=row["incident_id"],
                action="delivery_failed",
                at=now,
                contact_id=row["contact_id"],
                detail=dict(notification_id=notification_id, error=error[:200]),
            )
        return row


def defer(
    conn: psycopg.Connection[Any],
    *,
    notification_id: int,
    worker: str,
    due_at: datetime,
    attempts: int,
    error: str,
) -> None:
    """Put a claimed row back for later (a rate limit)."""
    conn.execute(
        Q["defer"],
        {
            "id": notification_id,
            "worker": worker,
            "due_at": due_at,
            "attempts": attempts,
            "error": error,
        },
    )


def sweep_expired(conn: psycopg.Connection[Any]) -> list[int]:
    """Return rows held by dead workers to the queue."""
    with conn.transaction():
        ids = [r["id"] for r in conn.execute(Q["sweep_expired"])]
        conn.execute(Q["cancel_answered"])
        conn.execute(Q["rate_prune"])
        return ids


def rate_hit(conn: psycopg.Connection[Any], destination: str) -> tuple[int, datetime]:
    """Count one send to ``destination`` in the current minute; (count, window start)."""
    row = conn.execute(Q["rate_hit"], {"destination": destination}).fetchone()
    assert row is not None
    return row["sent"], row["window_start"]


__all__ = [
    "claim_due",
    "defer",
    "extend_lease",
    "mark_delivered",
    "mark_failed",
    "next_due",
    "rate_hit",
    "record_attempt",
    "sweep_expired",
]
