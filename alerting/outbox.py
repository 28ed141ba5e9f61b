"""The outbox as the senders see it: claim one step under a short lease, finish it, sweep.

A claimed row is 'sending' with ``lease_owner`` and ``lease_until``; a heartbeat renews the
leases of rows whose request is in flight, so only a dead worker's rows expire, and they come
back within one lease. Each claim is one attempt: the row keeps its place (``channel_index``,
``channel_attempt``) between steps, and a retry is the same row due again after its backoff.
Finishing checks the lease owner, so a worker that lost its lease can never overwrite the row
another worker now holds. Rows are enqueued by the planner (``alerting/queries.sql``,
``plan_notification``); new rows start at channel 0, attempt 0 by the columns' defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from alerting import metrics
from alerting.rate_limit import RateWindow
from core.db import load_queries
from core.incidents import log_action
from core.redact import redact

Q = load_queries("alerting", "outbox.sql")
Row = dict[str, Any]
ANY_PRIORITY = 32767
MOST_URGENT = -32768


def release_expired(conn: psycopg.Connection[Any]) -> list[int]:
    """Return rows whose lease expired (a dead worker's) to the queue; their ids."""
    return [r["id"] for r in conn.execute(Q["release_expired"])]


def claim_due(
    conn: psycopg.Connection[Any],
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease_s: float,
    per_channel: int = 3,
    blocked: Sequence[str] = (),
    only: Sequence[str] | None = None,
    max_priority: int = ANY_PRIORITY,
    min_priority: int = MOST_URGENT,
    choose: Callable[[list[Row]], list[Row]] | None = None,
) -> list[Row]:
    """Claim up to ``limit`` due steps, most urgent first, each counted as one attempt.

    ``blocked`` destinations (``sw_send_host``) are left out, and with ``only`` every other
    destination too; ``choose`` may keep only some of
    the candidates (per-destination caps), the others stay pending for the next turn.
    """
    if limit <= 0:
        return []
    # Pipelined: BEGIN goes with the candidates' query and COMMIT with the claim, two round
    # trips instead of four. In a storm the claim runs back to back with the sends, and each
    # round trip waits for the GIL behind the sender threads again (docs/benchmarks.md).
    with conn.pipeline():
        with conn.transaction():
            candidates = conn.execute(
                Q["due_candidates"],
                {
                    "now": now,
                    "per_channel": per_channel,
                    "max_priority": max_priority,
                    "min_priority": min_priority,
                    "blocked": list(blocked),
                    "only": None if only is None else list(only),
                    "window": limit * 4 if choose else limit,
                },
            ).fetchall()
            chosen = choose(candidates) if choose else candidates[:limit]
            if not chosen:
                return []
            claimed = conn.execute(
                Q["claim"],
                {
                    "ids": [r["id"] for r in chosen],
                    "worker": worker,
                    "lease": lease_s,
                    "per_channel": per_channel,
                },
            )
        rows = claimed.fetchall()
    picked = {r["id"]: (n, r) for n, r in enumerate(chosen)}
    for row in rows:
        row["skip"] = bool(picked[row["id"]][1].get("skip"))  # the chooser's verdict
    return sorted(rows, key=lambda r: picked[r["id"]][0])


def next_due(conn: psycopg.Connection[Any]) -> datetime | None:
    """When the earliest pending step is due or the earliest lease expires."""
    row = conn.execute(Q["next_due"]).fetchone()
    return row["due_at"] if row else None


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """Steps due and not sent, and how long the oldest of them has been due."""

    due: int
    oldest_s: float


def measure_backlog(conn: psycopg.Connection[Any], now: datetime) -> OutboxBacklog:
    """Set the notification-backlog gauges from the table and return what they show."""
    row = conn.execute(Q["backlog"], {"now": now}).fetchone() or {}
    backlog = OutboxBacklog(int(row.get("due_unsent") or 0), float(row.get("queue_age") or 0.0))
    metrics.DUE_UNSENT.set(backlog.due)
    metrics.QUEUE_AGE.set(backlog.oldest_s)
    return backlog


def renew_leases(
    conn: psycopg.Connection[Any], *, ids: Sequence[int], worker: str, lease_s: float
) -> set[int]:
    """Extend the leases of rows still ours; the ids that are."""
    if not ids:
        return set()
    rows = conn.execute(Q["renew_leases"], {"ids": list(ids), "worker": worker, "lease": lease_s})
    return {r["id"] for r in rows}


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
    """Failed on every channel (or cancelled because someone answered).

    The error is stored redacted (phone numbers, keys): the row and the audit log are only
    shown, and the full provider answers stay in ``notification_attempts``.
    """
    shown = redact(error)
    with conn.transaction():
        row = conn.execute(
            Q["mark_failed"],
            {
                "id": notification_id,
                "worker": worker,
                "attempts": attempts,
                "error": shown[:500],
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
                detail=dict(notification_id=notification_id, error=shown[:200]),
            )
        return row


def reschedule(
    conn: psycopg.Connection[Any],
    *,
    notification_id: int,
    worker: str,
    due_at: datetime,
    channel_index: int,
    channel_attempt: int,
    attempts: int,
    error: str,
) -> bool:
    """Hand a claimed row back as its next step (retry, fallback, rate limit); still ours?"""
    row = conn.execute(
        Q["reschedule"],
        {
            "id": notification_id,
            "worker": worker,
            "due_at": due_at,
            "channel_index": channel_index,
            "channel_attempt": channel_attempt,
            "attempts": attempts,
            "error": redact(error)[:500],
        },
    ).fetchone()
    return row is not None


# What each step given to steps_delivered carries (one array per key in the statement).
DELIVERED_COLUMNS = (
    "id",
    "channel_index",
    "scheme",
    "destination",
    "outcome",
    "response",
    "elapsed_ms",
    "provider_ref",
    "via",
    "ago_s",
)


def steps_delivered(
    conn: psycopg.Connection[Any], *, worker: str, steps: Sequence[Row]
) -> list[Row]:
    """Record the attempts and mark the rows delivered with their audit rows: one statement.

    Each step: the attempt's id, channel_index, scheme, destination, outcome, response,
    elapsed_ms, provider_ref, with ``via`` (the channel's scheme) and ``ago_s`` (seconds since
    its request returned). The rows still leased to ``worker`` come back; a step whose lease
    was lost keeps its attempt and changes nothing else.
    """
    if not steps:
        return []
    columns = {name: [step[name] for step in steps] for name in DELIVERED_COLUMNS}
    return conn.execute(
        Q["steps_delivered"], {"ids": columns.pop("id"), "worker": worker} | columns
    ).fetchall()


def step_rescheduled(
    conn: psycopg.Connection[Any],
    *,
    record_index: int,
    due_at: datetime,
    channel_index: int,
    channel_attempt: int,
    attempts: int,
    error: str,
    **attempt: Any,
) -> bool:
    """Record the attempt (on channel ``record_index``) and hand the row back as its next
    step, in one statement; still ours?"""
    row = conn.execute(
        Q["step_rescheduled"],
        attempt
        | {
            "record_index": record_index,
            "due_at": due_at,
            "channel_index": channel_index,
            "channel_attempt": channel_attempt,
            "attempts": attempts,
            "error": redact(error)[:500],
        },
    ).fetchone()
    return row is not None


def step_failed(
    conn: psycopg.Connection[Any], *, error: str, now: datetime, **attempt: Any
) -> Row | None:
    """Record the last attempt and mark the row failed with its audit row: one statement."""
    shown = redact(error)
    return conn.execute(
        Q["step_failed"],
        attempt | {"error": shown[:500], "short_error": shown[:200], "now": now},
    ).fetchone()


def sweep_expired(conn: psycopg.Connection[Any]) -> list[int]:
    """Return rows held by dead workers to the queue; cancel what was answered meanwhile."""
    with conn.transaction():
        ids = release_expired(conn)
        conn.execute(Q["cancel_answered"])
        conn.execute(Q["rate_prune"])
        return ids


def rate_hit(conn: psycopg.Connection[Any], destination: str) -> RateWindow:
    """Count one send to ``destination`` in the current minute; the counters it now has."""
    row = conn.execute(Q["rate_hit"], {"destination": destination}).fetchone()
    assert row is not None
    return RateWindow(
        sent=row["sent"],
        previous=row["previous_sent"],
        window_start=row["window_start"],
        now=row["now"],
    )


def rate_unhit(conn: psycopg.Connection[Any], destination: str, window: RateWindow) -> None:
    """Take back a count made by :func:`rate_hit` for a send the limit held."""
    conn.execute(Q["rate_unhit"], {"destination": destination, "window_start": window.window_start})


__all__ = [
    "OutboxBacklog",
    "claim_due",
    "mark_failed",
    "measure_backlog",
    "next_due",
    "rate_hit",
    "rate_unhit",
    "release_expired",
    "renew_leases",
    "reschedule",
    "step_failed",
    "step_rescheduled",
    "steps_delivered",
    "sweep_expired",
]
