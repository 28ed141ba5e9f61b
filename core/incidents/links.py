"""Acknowledge and resolve from a signed link: verify the token, then change the incident.

The API's link pages call these so that the binding rules (token for this incident only,
acting as the contact it was sent to) live next to the token code, not in a route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from core.incidents.lifecycle import (
    FalseAlarmCause,
    Outcome,
    Q,
    _rows,
    acknowledge_incident,
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
    """Verify ``token``, then resolve its incident with the outcome (and cause)."""
    claim = verify_ack_token(token, secret=secret, now=now, incident_id=incident_id)
    return resolve_incident(
        conn,
        incident_id=claim.incident_id,
        actor=_actor(conn, claim),
        outcome=outcome,
        cause=cause,
        note=note,
        contact_id=claim.contact_id,
        now=now,
    )
