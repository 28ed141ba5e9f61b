"""Acknowledge, report and resolve from a signed link: verify the token, then act as the field.

The API's link pages call these so that the binding rules (token for this incident only,
acting as the contact it was sent to, with the field's rights: "on my way" and a report, never
closing a fire) live next to the token code, not in a route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from core.incidents.lifecycle import (
    FalseAlarmCause,
    Outcome,
    Party,
    Q,
    _rows,
    acknowledge_incident,
    report_incident,
    resolve_incident,
)
from core.incidents.tokens import AckClaim, verify_ack_token

Row = dict[str, Any]


def _actor(conn: psycopg.Connection[Any], claim: AckClaim) -> str:
    row = _rows(conn).execute(Q["contact_name"], {"id": claim.contact_id}).fetchone()
    return f"{row['name']} (link)" if row else f"contact {claim.contact_id} (link)"


def acknowledge_by_link(
    conn: psycopg.Connection[Any],
    *,
    token: str,
    secret: str,
    incident_id: int | None = None,
    now: datetime | None = None,
) -> Row:
    """Verify ``token`` (and that it names ``incident_id`` when given), then acknowledge."""
    claim = verify_ack_token(token, secret=secret, now=now, incident_id=incident_id)
    return acknowledge_incident(
        conn,
        incident_id=claim.incident_id,
        actor=_actor(conn, claim),
        contact_id=claim.contact_id,
        party=Party.FIELD,
        now=now,
    )


def report_by_link(
    conn: psycopg.Connection[Any],
    *,
    token: str,
    secret: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    incident_id: int | None = None,
    now: datetime | None = None,
) -> Row:
    """Verify ``token``, then report what was found; the centre reviews and closes."""
    claim = verify_ack_token(token, secret=secret, now=now, incident_id=incident_id)
    return report_incident(
        conn,
        incident_id=claim.incident_id,
        actor=_actor(conn, claim),
        outcome=outcome,
        cause=cause,
        note=note,
        contact_id=claim.contact_id,
        now=now,
    )


def resolve_by_link(
    conn: psycopg.Connection[Any],
    *,
    token: str,
    secret: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
    incident_id: int | None = None,
    now: datetime | None = None,
) -> Row:
    """Verify ``token``, then resolve its incident as the field: a tamper visit may close its
    incident; a fire or heat incident raises FieldCannotClose (report instead)."""
    claim = verify_ack_token(token, secret=secret, now=now, incident_id=incident_id)
    return resolve_incident(
        conn,
        incident_id=claim.incident_id,
        actor=_actor(conn, claim),
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
    row = _rows(conn).execute(Q["contact_name"], {"id": contact_id}).fetchone()
    name = row["name"] if row else f"contact {contact_id}"
    return acknowledge_incident(
        conn,
        incident_id=incident_id,
        actor=f"{name} ({how})",
        contact_id=contact_id,
        party=Party.FIELD,
        now=now,
    )
