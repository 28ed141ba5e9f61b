"""Commands for staff and relatives: scope checks around core.commands."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.visibility import NotVisible
from core.commands import (
    Kind,
    Requester,
    device_commands,
    incident_commands,
    read_command,
    request_command,
    support_for,
)
from core.db import load_queries

Q = load_queries("api.commands", "queries.sql")
Row = dict[str, Any]


def _one(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> Row | None:
    return conn.cursor(row_factory=dict_row).execute(Q[query], params).fetchone()


def device_in_scope(conn: psycopg.Connection[Any], *, scope: list[str], device_id: str) -> Row:
    """The device when the caller sees it; 404 otherwise."""
    row = _one(conn, "device_in_scope", {"device_id": device_id, "scope": scope})
    if row is None:
        raise NotVisible("device")
    return row


def support_view(
    conn: psycopg.Connection[Any], *, device_id: str, model_code: str, items: list[Row]
) -> Row:
    """What the model takes (and why not), with the given commands."""
    support = support_for(model_code)
    kinds = [
        {
            "kind": kind.value,
            "supported": kind in support.kinds,
            "rearm_s": support.rearm_s if kind is Kind.SILENCE and kind in support.kinds else None,
            "why_not": None if kind in support.kinds else support.why_not,
        }
        for kind in Kind
    ]
    return {
        "device_id": device_id,
        "model_code": model_code,
        "transport": support.transport,
        "source": support.source,
        "kinds": kinds,
        "items": items,
    }


def read_device_commands(conn: psycopg.Connection[Any], *, scope: list[str], device_id: str) -> Row:
    """A device's support and latest commands."""
    device = device_in_scope(conn, scope=scope, device_id=device_id)
    items = device_commands(conn, device_id)
    return support_view(conn, device_id=device_id, model_code=device["model_code"], items=items)


def read_incident_commands(
    conn: psycopg.Connection[Any], *, scope: list[str], incident_id: int
) -> Row:
    """The incident device's support and the incident's commands (the board's drawer)."""
    row = _one(conn, "incident_device_in_scope", {"incident_id": incident_id, "scope": scope})
    if row is None:
        raise NotVisible("incident")
    items = incident_commands(conn, incident_id)
    return support_view(conn, device_id=row["device_id"], model_code=row["model_code"],
                        items=items)  # fmt: skip


def create_command(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    device_id: str,
    role: str,
    actor: str,
    kind: str,
    parameters: dict[str, Any],
    incident_id: int | None,
    suspected_cause: str | None,
    reason: str | None,
) -> tuple[Row, bool]:
    """Request a command on a device in scope (rules in core.commands.model)."""
    device_in_scope(conn, scope=scope, device_id=device_id)
    if incident_id is not None:
        params = {"incident_id": incident_id, "scope": scope}
        if _one(conn, "incident_device_in_scope", params) is None:
            raise NotVisible("incident")
    return request_command(
        conn, device_id=device_id, kind=Kind(kind), requester=Requester(role=role),
        requested_by=actor, parameters=parameters, incident_id=incident_id,
        reason=reason, suspected_cause=suspected_cause,
    )  # fmt: skip


def read_one(conn: psycopg.Connection[Any], *, scope: list[str], command_id: int) -> Row:
    """One command whose device the caller sees."""
    row = read_command(conn, command_id)  # CommandNotFound: 404 (api/errors.py)
    device_in_scope(conn, scope=scope, device_id=row["device_id"])
    return row


def household_incident(
    conn: psycopg.Connection[Any], *, site_id: int, incident_id: int | None
) -> Row:
    """The relative's household incident (the alert's, else the open one)."""
    row = _one(conn, "household_incident", {"site_id": site_id, "incident_id": incident_id})
    if row is None:
        raise NotVisible("incident")
    return row


def relative_commands(
    conn: psycopg.Connection[Any], *, site_id: int, incident_id: int | None
) -> Row:
    """What the relative's page shows: the incident device's support and the incident's commands."""
    incident = household_incident(conn, site_id=site_id, incident_id=incident_id)
    items = incident_commands(conn, incident["id"])
    return support_view(conn, device_id=incident["device_id"], model_code=incident["model_code"],
                        items=items)  # fmt: skip


def relative_silence(
    conn: psycopg.Connection[Any],
    *,
    site_id: int,
    contact_id: int | None,
    actor: str,
    incident_id: int | None,
    suspected_cause: str,
    confirmed: bool,
) -> tuple[Row, bool]:
    """A relative asks to silence their own household's acknowledged incident."""
    incident = household_incident(conn, site_id=site_id, incident_id=incident_id)
    return request_command(
        conn, device_id=incident["device_id"], kind=Kind.SILENCE,
        requester=Requester(role="relative", site_id=site_id), requested_by=actor,
        incident_id=incident["id"], contact_id=contact_id, suspected_cause=suspected_cause,
        confirmed=confirmed,
    )  # fmt: skip
