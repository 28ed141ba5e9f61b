"""Acknowledge, report and resolve as the field, from a verified link claim or a phone answer.

The binding rules live here, next to the token code: a claim (:func:`verify_ack_token`, checked
once by whoever received the token) acts on its own incident only, as the contact it was sent
to, with the field's rights: "on my way" and a report, never closing a fire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from core.incidents.lifecycle import (
    FalseAlarmCause,
    Outcome,
    Party,
    acknowledge_incident,
    contact_actor,
    report_incident,
    resolve_incident,
)
from core.incidents.tokens import AckClaim

Row = dict[str, Any]


def acknowledge_by_link(
    conn: psycopg.Connection[Any], *, claim: AckClaim, now: datetime | None = None
) -> Row:
    """Acknowledge the claim's incident as its contact ("on my way")."""
    return acknowledge_incident(
        conn,
        incident_id=claim.incident_id,
        actor=contact_actor(conn, claim.contact_id, via="link"),
        contact_id=claim.contact_id,
        party=Party.FIELD,
        now=now,
    )


def report_by_link(
    conn: psycopg.Connection[Any],
    *,
    claim: AckClaim,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Row:
    """Report what was found at the claim's incident; the centre reviews and closes."""
    return report_incident(
        conn,
        incident_id=claim.incident_id,
        actor=contact_actor(conn, claim.contact_id, via="link"),
        outcome=outcome,
        cause=cause,
        note=note,
        contact_id=claim.contact_id,
        now=now,
    )


def resolve_by_link(
    conn: psycopg.Connection[Any],
    *,
    claim: AckClaim,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Row:
    """Resolve the claim's incident as the field: a tamper visit may close its incident; a
    fire or heat incident raises FieldCannotClose (report instead)."""
    return resolve_incident(
        conn,
        incident_id=claim.incident_id,
        actor=contact_actor(conn, claim.contact_id, via="link"),
        outcome=outcome,
        cause=cause,
        note=note,
        contact_id=claim.contact_id,
        party=Party.FIELD,
        now=now,
    )


def acknowledge_by_phone(
    conn: psycopg.Connection[Any],
    *,
    incident_id: int,
    contact_id: int,
    how: str,
    now: datetime | None = None,
) -> Row:
    """A paged contact pressed 1 on the call or replied 1 to the SMS: the same field
    acknowledgement ("on my way") as the link, as that contact; the centre still closes."""
    return acknowledge_incident(
        conn,
        incident_id=incident_id,
        actor=contact_actor(conn, contact_id, via=how),
        contact_id=contact_id,
        party=Party.FIELD,
        now=now,
    )
