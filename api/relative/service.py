"""A relative's household through a link: the signed alert link or a personal relative link.

api.deps.relative_caller checks the token (404 for anything invalid) and names the household
(the alert's incident's site, or the link's site); every query here is keyed by that one site
id, so nothing the token does not name is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.deps import Caller
from api.errors import Conflict
from api.visibility import NotVisible
from core.db import load_queries
from core.incidents import (
    AckClaim,
    FalseAlarmCause,
    Outcome,
    Party,
    acknowledge_by_link,
    acknowledge_incident,
    report_by_link,
    report_incident,
    resolve_by_link,
    resolve_incident,
)

Q = load_queries("api.relative", "queries.sql")
Row = dict[str, Any]


class NoOpenIncident(Conflict):
    """The household has no incident to acknowledge or resolve right now."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a link lets its holder see and do."""

    site_id: int
    contact_id: int
    actor: str
    # An alert link's claim, verified once by api.deps.relative_caller: its incident, acted on
    # as its contact (core.incidents.links); personal links have none.
    claim: AckClaim | None = None

    @property
    def incident_id(self) -> int | None:
        """The incident an alert link names; personal links name none."""
        return self.claim.incident_id if self.claim else None


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
    return conn.cursor(row_factory=dict_row)


def grant_for(caller: Caller) -> Grant:
    """What the relative behind a link (resolved by api.deps.relative_caller) may do."""
    if caller.site_id is None or caller.contact_id is None:
        raise NotVisible("link")
    return Grant(
        site_id=caller.site_id,
        contact_id=caller.contact_id,
        actor=caller.actor,
        claim=caller.ack_claim,
    )


def _incident_id(conn: psycopg.Connection[Any], grant: Grant) -> int | None:
    if grant.incident_id is not None:
        return grant.incident_id
    row = _cur(conn).execute(Q["current_incident"], {"site_id": grant.site_id}).fetchone()
    return int(row["id"]) if row else None


def _incident(conn: psycopg.Connection[Any], grant: Grant, incident_id: int) -> Row:
    params = {"incident_id": incident_id, "site_id": grant.site_id}
    row = _cur(conn).execute(Q["relative_incident"], params).fetchone()
    if row is None:  # never another home's incident
        raise NotVisible("link")
    room, position = row.pop("room"), row.pop("position")
    return {**row, "device": {"room": room, "position": position}}


def view(conn: psycopg.Connection[Any], grant: Grant) -> Row:
    """The incident (or null), the household and its detectors' states: the relative's own
    shape, none of the monitoring centre's fields."""
    site = _cur(conn).execute(Q["household"], {"site_id": grant.site_id}).fetchone()
    if site is None:
        raise NotVisible("link")
    incident_id = _incident_id(conn, grant)
    incident = None if incident_id is None else _incident(conn, grant, incident_id)
    devices = _cur(conn).execute(Q["household_devices"], {"site_id": grant.site_id}).fetchall()
    told = (
        []
        if incident_id is None
        else _cur(conn)
        .execute(Q["told"], {"incident_id": incident_id, "site_id": grant.site_id})
        .fetchall()
    )
    keys = ("name", "address", "resident_name", "phone", "key_holder_name", "key_holder_phone")
    return {
        "incident": incident,
        "site": {k: site[k] for k in keys},
        "devices": devices,
        "told": told,
    }


def acknowledge(conn: psycopg.Connection[Any], grant: Grant) -> Row:
    """Acknowledge the link's incident (alert link) or the household's open one."""
    if grant.claim is not None:
        acknowledge_by_link(conn, claim=grant.claim)
    else:
        incident_id = _open_incident(conn, grant)
        acknowledge_incident(
            conn, incident_id=incident_id, actor=grant.actor, contact_id=grant.contact_id,
            party=Party.FIELD,
        )  # fmt: skip
    return view(conn, grant)


def report(
    conn: psycopg.Connection[Any],
    grant: Grant,
    *,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None,
    note: str | None,
) -> Row:
    """Report what was found at the link's incident (or the household's open one); the
    monitoring centre reviews and closes it."""
    if grant.claim is not None:
        report_by_link(conn, claim=grant.claim, outcome=outcome, cause=cause, note=note)
    else:
        incident_id = _open_incident(conn, grant)
        report_incident(
            conn, incident_id=incident_id, actor=grant.actor, outcome=outcome, cause=cause,
            note=note, contact_id=grant.contact_id,
        )  # fmt: skip
    return view(conn, grant)


def resolve(
    conn: psycopg.Connection[Any],
    grant: Grant,
    *,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None,
    note: str | None,
) -> Row:
    """Resolve the link's incident (alert link) or the household's open one, as the field:
    core.incidents refuses it for fire and heat (FieldCannotClose)."""
    if grant.claim is not None:
        resolve_by_link(conn, claim=grant.claim, outcome=outcome, cause=cause, note=note)
    else:
        incident_id = _open_incident(conn, grant)
        resolve_incident(
            conn, incident_id=incident_id, actor=grant.actor, outcome=outcome, cause=cause,
            note=note, contact_id=grant.contact_id, party=Party.FIELD,
        )  # fmt: skip
    return view(conn, grant)


def _open_incident(conn: psycopg.Connection[Any], grant: Grant) -> int:
    row = _cur(conn).execute(Q["current_incident"], {"site_id": grant.site_id}).fetchone()
    if row is None:
        raise NoOpenIncident("no incident at this household")
    return int(row["id"])
