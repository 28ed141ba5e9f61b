"""Read side of incidents for the acknowledge page and the API: what, where, who was told."""

from __future__ import annotations

from typing import Any

import psycopg

from core.incidents.errors import IncidentNotFound
from core.incidents.lifecycle import Q, _rows

Row = dict[str, Any]


def get_incident(conn: psycopg.Connection[Any], incident_id: int) -> Row:
    """The incident row, or :class:`IncidentNotFound`."""
    row = _rows(conn).execute(Q["get_incident"], {"id": incident_id}).fetchone()
    if row is None:
        raise IncidentNotFound(f"incident {incident_id} does not exist")
    return dict(row)


def describe_incident(conn: psycopg.Connection[Any], incident_id: int) -> Row:
    """Incident with address, room, resident and the list of people told (``told``)."""
    row = _rows(conn).execute(Q["describe"], {"id": incident_id}).fetchone()
    if row is None:
        raise IncidentNotFound(f"incident {incident_id} does not exist")
    described = dict(row)
    described["told"] = [dict(r) for r in _rows(conn).execute(Q["told"], {"id": incident_id})]
    return described


def incident_log(conn: psycopg.Connection[Any], incident_id: int) -> list[Row]:
    """The audit log of one incident, oldest first."""
    return [dict(r) for r in _rows(conn).execute(Q["read_log"], {"id": incident_id})]


def incident_attempts(conn: psycopg.Connection[Any], incident_id: int) -> list[Row]:
    """Every notification of the incident with each delivery attempt and the provider's answer."""
    return [dict(r) for r in _rows(conn).execute(Q["attempts"], {"id": incident_id})]
