"""Incident state changes: open or join, mark cleared/silenced, acknowledge, progress, resolve.

Pure SQL on a caller's connection, each change in one transaction (a savepoint when the
caller already holds one) together with its audit-log row. Alerting opens and joins; the API
acknowledges and resolves; both go through these functions so the rules live in one place:

- triggered -> acknowledged -> in_progress -> (reported ->) resolved; the first
  acknowledgement of anyone cancels every pending page at once; resolving needs an outcome
  (a false alarm its cause).
- Two parties answer: the monitoring centre (an operator on the board) and the field (whoever
  holds an alert or relative link). A field acknowledgement means "I am on my way": paging
  stops, but the board keeps its siren and the centre's supervisors are still paged until an
  operator acknowledges (``centre_acknowledged_at``).
- Only the centre closes a fire or heat incident. The field reports what it found (outcome,
  cause, note): the incident becomes ``reported`` and stays open until an operator resolves
  it. Resolving as the field raises :class:`FieldCannotClose` (tamper visits may close).
- A device clearing or silencing its alarm is recorded but never closes the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import load_queries
from core.incidents.errors import (
    FieldCannotClose,
    IncidentClosed,
    IncidentNotFound,
    InvalidTransition,
    OutcomeRequired,
)

Q = load_queries("core.incidents", "queries.sql")
Row = dict[str, Any]


def _rows(conn: psycopg.Connection[Any]) -> psycopg.Cursor[dict[str, Any]]:
    """A dict-row cursor whatever the connection's row factory (callers' choice)."""
    return conn.cursor(row_factory=dict_row)


PAGE_PURPOSES = ["page", "repage", "same_day_call"]
# Pages to the centre's supervisors stop when an operator acknowledges, not before.
CENTRE_PURPOSES = ["escalation"]
# Incidents only the monitoring centre may close (a person may be in danger).
CENTRE_CLOSES = frozenset({"fire", "heat"})


class Status(StrEnum):
    """Where an incident stands."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    REPORTED = "reported"
    RESOLVED = "resolved"


class Party(StrEnum):
    """Who acts: an operator of the monitoring centre, or a link-holder in the field."""

    CENTRE = "centre"
    FIELD = "field"


class Outcome(StrEnum):
    """How a resolved incident ended (mandatory on resolve)."""

    REAL_FIRE = "real_fire"
    FALSE_ALARM = "false_alarm"
    TEST = "test"
    DEVICE_FAULT = "device_fault"


class FalseAlarmCause(StrEnum):
    """Why a false alarm went off; counted per device for relocation visits."""

    COOKING = "cooking"
    SMOKING = "smoking"
    STEAM = "steam"
    DUST = "dust"
    INSECTS = "insects"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Opened:
    """The incident an event landed in and whether the event opened it."""

    incident: Row
    created: bool


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def log_action(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    action: str,
    at: datetime,
    actor: str | None = None,
    contact_id: int | None = None,
    event_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to the incident's audit log."""
    _rows(conn).execute(
        Q["log"],
        {
            "incident_id": incident_id,
            "at": at,
            "action": action,
            "actor": actor,
            "contact_id": contact_id,
            "event_id": event_id,
            "detail": Jsonb(detail) if detail is not None else None,
        },
    )


def contact_actor(conn: psycopg.Connection[Any], contact_id: int, *, via: str) -> str:
    """How a contact answering from outside the centre is named in the audit log:
    ``王小明 (link)``, ``王小明 (voice)`` (the pages translate the mark)."""
    row = _rows(conn).execute(Q["contact_name"], {"id": contact_id}).fetchone()
    name = row["name"] if row else f"contact {contact_id}"
    return f"{name} ({via})"


def open_or_join(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    site_id: int | None,
    kind: str,
    priority: int,
    event_id: int,
    event_at: datetime,
    repage_after: timedelta | None,
    now: datetime | None = None,
) -> Opened:
    """Open the (device, kind) incident or add the event to the one already open."""
    now = _now(now)
    params = {
        "device_id": device_id,
        "site_id": site_id,
        "kind": kind,
        "priority": priority,
        "event_id": event_id,
        "event_at": event_at,
        "repage_after": repage_after,
        "now": now,
    }
    with conn.transaction():
        row = _rows(conn).execute(Q["open_incident"], params).fetchone()
        if row is not None:
            log_action(conn, incident_id=row["id"], action="opened", at=now, event_id=event_id)
            return Opened(row, True)
        row = _rows(conn).execute(Q["join_incident"], params).fetchone()
        if row is None:  # resolved between the two statements; the unique index keeps us right
            raise InvalidTransition("incident vanished while joining; retry the event")
        log_action(conn, incident_id=row["id"], action="event_joined", at=now, event_id=event_id)
        return Opened(row, False)


def mark_device_state(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    kinds: list[str],
    action: str,
    event_id: int,
    now: datetime | None = None,
) -> list[Row]:
    """Record 'cleared_by_device' or 'silenced' on the device's open incidents; never close."""
    if action not in ("cleared_by_device", "silenced"):
        raise ValueError(action)
    now = _now(now)
    changed: list[Row] = []
    with conn.transaction():
        rows = (
            _rows(conn)
            .execute(Q["open_incidents_of_device"], {"device_id": device_id, "kinds": kinds})
            .fetchall()
        )
        query = Q["mark_cleared"] if action == "cleared_by_device" else Q["mark_silenced"]
        for row in rows:
            updated = _rows(conn).execute(query, {"id": row["id"], "now": now}).fetchone()
            log_action(conn, incident_id=row["id"], action=action, at=now, event_id=event_id)
            if updated is not None:
                changed.append(updated)
    return changed


def _lock(conn: psycopg.Connection[Any], incident_id: int) -> Row:
    row = _rows(conn).execute(Q["lock_incident"], {"id": incident_id}).fetchone()
    if row is None:
        raise IncidentNotFound(f"incident {incident_id} does not exist")
    return row


def acknowledge_incident(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    contact_id: int | None = None,
    party: Party | str = Party.FIELD,
    now: datetime | None = None,
) -> Row:
    """A person answered: pending pages stop. The field's answer means "on my way"; only the
    centre's stops the board's siren and the supervisors' escalation. Repeating changes nothing.

    ``party`` defaults to the field, the side with fewer rights: a caller that forgets it
    never silences the board.
    """
    party = Party(party)
    now = _now(now)
    with conn.transaction():
        row = _lock(conn, incident_id)
        if row["status"] == Status.RESOLVED:
            raise IncidentClosed(f"incident {incident_id} is resolved")
        done = "centre_acknowledged_at" if party == Party.CENTRE else "field_acknowledged_at"
        if row[done] is not None:
            return row
        updated = (
            _rows(conn)
            .execute(
                Q["set_acknowledged"],
                {
                    "id": incident_id,
                    "now": now,
                    "actor": actor,
                    "contact_id": contact_id,
                    "centre": party == Party.CENTRE,
                },
            )
            .fetchone()
        )
        # The first answer stops the pages; the centre's own also stops the supervisors'
        # escalation. A second party's answer leaves planned re-pages alone.
        purposes = PAGE_PURPOSES if row["acknowledged_at"] is None else []
        if party == Party.CENTRE:
            purposes = purposes + CENTRE_PURPOSES
        if purposes:
            _rows(conn).execute(
                Q["cancel_pages"],
                {"id": incident_id, "reason": "acknowledged", "purposes": purposes},
            )
        log_action(
            conn,
            incident_id=incident_id,
            action="acknowledged",
            at=now,
            actor=actor,
            contact_id=contact_id,
            detail={"by": str(party)},
        )
    assert updated is not None
    return updated


def start_progress(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    contact_id: int | None = None,
    now: datetime | None = None,
) -> Row:
    """Someone is on the way or on site; implies acknowledged."""
    return _advance(
        conn,
        incident_id=incident_id,
        unless={Status.IN_PROGRESS, Status.REPORTED},
        query="set_in_progress",
        action="in_progress",
        actor=actor,
        contact_id=contact_id,
        now=now,
    )


def _advance(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    unless: set[Status],
    query: str,
    action: str,
    actor: str,
    contact_id: int | None,
    now: datetime | None,
) -> Row:
    """Move an open incident forward (pages stop); already there or beyond: no change."""
    now = _now(now)
    with conn.transaction():
        row = _lock(conn, incident_id)
        if row["status"] == Status.RESOLVED:
            raise IncidentClosed(f"incident {incident_id} is resolved")
        if row["status"] in unless:
            return row
        updated = (
            _rows(conn)
            .execute(
                Q[query], {"id": incident_id, "now": now, "actor": actor, "contact_id": contact_id}
            )
            .fetchone()
        )
        _cancel_pages(conn, incident_id, action.replace("_", " "))
        log_action(
            conn, incident_id=incident_id, action=action, at=now, actor=actor, contact_id=contact_id
        )
    assert updated is not None
    return updated


def _checked_outcome(
    outcome: Outcome | str, cause: FalseAlarmCause | str | None
) -> tuple[Outcome, FalseAlarmCause | None]:
    try:
        outcome = Outcome(outcome)
        cause = FalseAlarmCause(cause) if cause is not None else None
    except ValueError as exc:
        raise OutcomeRequired(str(exc)) from exc
    if outcome == Outcome.FALSE_ALARM and cause is None:
        raise OutcomeRequired("a false alarm needs its cause")
    return outcome, (cause if outcome == Outcome.FALSE_ALARM else None)


def report_incident(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    contact_id: int | None = None,
    now: datetime | None = None,
) -> Row:
    """A field report of what was found: the incident becomes ``reported`` (still open, on the
    board) until an operator resolves it. Implies the reporter answered; pages stop. A later
    report replaces the earlier one (the audit log keeps both)."""
    outcome, cause = _checked_outcome(outcome, cause)
    now = _now(now)
    with conn.transaction():
        row = _lock(conn, incident_id)
        if row["status"] == Status.RESOLVED:
            raise IncidentClosed(f"incident {incident_id} is already resolved")
        updated = (
            _rows(conn)
            .execute(
                Q["set_reported"],
                {
                    "id": incident_id,
                    "now": now,
                    "actor": actor,
                    "contact_id": contact_id,
                    "outcome": str(outcome),
                    "cause": str(cause) if cause else None,
                    "note": note,
                },
            )
            .fetchone()
        )
        _cancel_pages(conn, incident_id, "reported from the field")
        log_action(
            conn,
            incident_id=incident_id,
            action="reported",
            at=now,
            actor=actor,
            contact_id=contact_id,
            detail={"outcome": str(outcome), "cause": str(cause) if cause else None, "note": note},
        )
    assert updated is not None
    return updated


def resolve_incident(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    contact_id: int | None = None,
    party: Party | str = Party.FIELD,
    now: datetime | None = None,
) -> Row:
    """Close the incident with its outcome (and cause for a false alarm); stop every page.

    Only the centre closes a fire or heat incident (:class:`FieldCannotClose` otherwise);
    the centre closing it also counts as the centre's acknowledgement.
    """
    party = Party(party)
    outcome, cause = _checked_outcome(outcome, cause)
    now = _now(now)
    with conn.transaction():
        row = _lock(conn, incident_id)
        if row["status"] == Status.RESOLVED:
            raise IncidentClosed(f"incident {incident_id} is already resolved")
        if party == Party.FIELD and row["kind"] in CENTRE_CLOSES:
            raise FieldCannotClose(
                f"a {row['kind']} incident is closed by the monitoring centre;"
                " report what you found instead"
            )
        updated = (
            _rows(conn)
            .execute(
                Q["set_resolved"],
                {
                    "id": incident_id,
                    "now": now,
                    "actor": actor,
                    "outcome": str(outcome),
                    "cause": str(cause) if cause else None,
                    "note": note,
                    "centre": party == Party.CENTRE,
                },
            )
            .fetchone()
        )
        _cancel_pages(conn, incident_id, "resolved", centre=True)
        log_action(
            conn,
            incident_id=incident_id,
            action="resolved",
            at=now,
            actor=actor,
            contact_id=contact_id,
            detail={
                "outcome": str(outcome),
                "cause": str(cause) if cause else None,
                "note": note,
                "by": str(party),
            },
        )
    assert updated is not None
    return updated


def assign_incident(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    contact_id: int | None,
    now: datetime | None = None,
) -> Row:
    """Put a person in charge (``None`` unassigns); allowed until resolved."""
    now = _now(now)
    with conn.transaction():
        row = _lock(conn, incident_id)
        if row["status"] == Status.RESOLVED:
            raise IncidentClosed(f"incident {incident_id} is resolved")
        updated = (
            _rows(conn)
            .execute(Q["set_assigned"], {"id": incident_id, "contact_id": contact_id, "now": now})
            .fetchone()
        )
        log_action(
            conn,
            incident_id=incident_id,
            action="assigned",
            at=now,
            actor=actor,
            contact_id=contact_id,
        )
    assert updated is not None
    return updated


def add_note(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    actor: str,
    note: str,
    now: datetime | None = None,
) -> Row:
    """Replace the incident's note and log it."""
    now = _now(now)
    with conn.transaction():
        _lock(conn, incident_id)
        updated = _rows(conn).execute(Q["set_note"], {"id": incident_id, "note": note}).fetchone()
        log_action(
            conn, incident_id=incident_id, action="note", at=now, actor=actor, detail={"note": note}
        )
    assert updated is not None
    return updated


def _cancel_pages(
    conn: psycopg.Connection[Any], incident_id: int, reason: str, *, centre: bool = False
) -> None:
    """Pending pages stop; with ``centre`` the supervisors' escalation stops too."""
    purposes = PAGE_PURPOSES + CENTRE_PURPOSES if centre else PAGE_PURPOSES
    _rows(conn).execute(
        Q["cancel_pages"], {"id": incident_id, "reason": reason, "purposes": purposes}
    )
