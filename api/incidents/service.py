"""Incidents for operators: list, read with timeline, and the lifecycle actions.

State changes go through :mod:`core.incidents` (the same functions alerting and the
acknowledge links use); this module adds scope, the contract's item shape and the timeline.
Every function takes ``scope``: the caller's organisation path prefixes as SQL LIKE patterns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from api.incidents.schemas import IncidentDetail, IncidentRead
from api.lists import ListParams, Page, fetch_page, order_by
from api.visibility import NotVisible
from core.db import load_queries
from core.incidents import (
    FalseAlarmCause,
    Outcome,
    Party,
    acknowledge_incident,
    add_note,
    assign_incident,
    incident_attempts,
    incident_log,
    resolve_incident,
)
from core.redact import redact

Q = load_queries("api.incidents", "queries.sql")
Row = dict[str, Any]


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
    return conn.cursor(row_factory=dict_row)


# Sort keys as the list query names its columns (api/incidents/queries.sql).
SORTS = {"opened_at": "opened_at", "last_event_at": "last_event_at", "priority": "priority",
         "id": "id"}  # fmt: skip


def list_incidents(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    status: str | None = None,
    kind: str | None = None,
    org_id: int | None = None,
    site_id: int | None = None,
    device_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    resolved_since: datetime | None = None,
    outcome: str | None = None,
    q: str | None = None,
    incident_id: int | None = None,
    sort: str = "-opened_at",
    limit: int = 50,
    offset: int = 0,
) -> Page[IncidentRead]:
    """One page of incidents in scope, and how many match in all."""
    order = order_by(sort, SORTS, "-opened_at", tiebreak="-id")
    params = {
        "scope": scope,
        "open_only": status == "open",
        "status": None if status == "open" else status,
        "kind": kind,
        "org_id": org_id,
        "site_id": site_id,
        "device_id": device_id,
        "since": since,
        "until": until,
        "resolved_since": resolved_since,
        "outcome": outcome,
        "q": f"%{_escape_like(q)}%" if q else None,
        "id": incident_id,
    }
    return fetch_page(
        conn, sql.SQL(Q["list_incidents"]).format(order=order), params,
        page=ListParams(limit=limit, offset=offset, sort=sort), model=IncidentRead,
        prepare=False,  # plans for the actual filters (see api.lists.fetch_page)
    )  # fmt: skip


def _escape_like(text: str) -> str:
    # '%' and '_' typed in a search are literal characters, not wildcards.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_incident(
    conn: psycopg.Connection[Any], *, scope: list[str], incident_id: int
) -> IncidentRead:
    """One incident in the list's shape, or :class:`NotVisible`."""
    found = list_incidents(conn, scope=scope, incident_id=incident_id, limit=1).items
    if not found:
        raise NotVisible(f"incident {incident_id}")
    return found[0]


def read_incident_detail(
    conn: psycopg.Connection[Any], *, scope: list[str], incident_id: int
) -> IncidentDetail:
    """The incident with its timeline (audit log, events named) and delivery attempts."""
    item = read_incident(conn, scope=scope, incident_id=incident_id)
    attempts = [
        {
            "at": a["at"],
            "contact": a["name"],
            "channel": a["channel_class"],
            "scheme": a["scheme"],
            "ok": a["outcome"] == "delivered",
            "answer": redact(a["response"]) if a["response"] is not None else a["outcome"],
            "role": a["role"],
            "wave": a["wave"],
            "round": a["round"],
            "purpose": a["purpose"],
            "outcome": a["outcome"],
            "elapsed_ms": a["elapsed_ms"],
            "reach": a["reach"],
            "reach_detail": redact(a["reach_detail"]) if a["reach_detail"] else None,
            "acknowledged": a["acknowledged_at"] is not None,
        }
        for a in incident_attempts(conn, incident_id)
        if a["at"] is not None
    ]
    return IncidentDetail.model_validate(
        {**item.model_dump(), "timeline": timeline(conn, incident_id=incident_id),
         "attempts": attempts}
    )  # fmt: skip


# Providers echo the destination in their answer (Tencent's SendStatusSet has PhoneNumber,
# Aliyun's Message has PhoneNumbers=...): the timeline names the contact, so every provider
# answer the API returns (attempts and the audit log's errors) goes through core.redact:
# phone numbers keep their last 4 digits, keys and tokens are hidden. Older rows stored the
# raw answer, so this is done on the way out, not only when storing.
_PROVIDER_TEXT = ("error", "answer", "response")


def timeline(conn: psycopg.Connection[Any], *, incident_id: int) -> list[Row]:
    """The audit log, oldest first; rows about an event carry the event's type and time."""
    log = incident_log(conn, incident_id)
    ids = [r["event_id"] for r in log if r["event_id"] is not None]
    events = (
        {e["id"]: e for e in _cur(conn).execute(Q["events_by_id"], {"ids": ids}).fetchall()}
        if ids
        else {}
    )
    entries = []
    for r in log:
        detail = dict(r["detail"] or {})
        for key in _PROVIDER_TEXT:
            if isinstance(detail.get(key), str):
                detail[key] = redact(detail[key])
        event = events.get(r["event_id"])
        if event is not None:
            detail["event"] = {"id": event["id"], "type": event["type"], "ts": event["ts"]}
        elif r["event_id"] is not None:
            detail["event"] = {"id": r["event_id"]}
        entries.append(
            {
                "at": r["at"],
                "action": r["action"],
                "actor": r["actor"],
                "contact_id": r["contact_id"],
                "detail": detail or None,
            }
        )
    return entries


def _path_in_scope(conn: psycopg.Connection[Any], *, scope: list[str], incident_id: int) -> str:
    row = _cur(conn).execute(Q["incident_in_scope"], {"id": incident_id, "scope": scope}).fetchone()
    if row is None:
        raise NotVisible(f"incident {incident_id}")
    return str(row["path"])


def acknowledge(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    incident_id: int,
    actor: str,
    note: str | None = None,
) -> IncidentRead:
    """Acknowledge for the monitoring centre (pending pages stop); optionally note why."""
    _path_in_scope(conn, scope=scope, incident_id=incident_id)
    with conn.transaction():
        acknowledge_incident(conn, incident_id=incident_id, actor=actor, party=Party.CENTRE)
        if note:
            add_note(conn, incident_id=incident_id, actor=actor, note=note)
    return read_incident(conn, scope=scope, incident_id=incident_id)


def assign(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    incident_id: int,
    actor: str,
    contact_id: int | None,
    note: str | None = None,
) -> IncidentRead:
    """Put a contact in charge (``None`` takes it back); the contact must be one the caller sees."""
    path = _path_in_scope(conn, scope=scope, incident_id=incident_id)
    if contact_id is not None:
        contact = (
            _cur(conn)
            .execute(
                Q["contact_for_assignment"],
                {"contact_id": contact_id, "scope": scope, "incident_path": path},
            )
            .fetchone()
        )
        if contact is None:
            raise NotVisible(f"contact {contact_id}")
    with conn.transaction():
        assign_incident(conn, incident_id=incident_id, actor=actor, contact_id=contact_id)
        if note:
            add_note(conn, incident_id=incident_id, actor=actor, note=note)
    return read_incident(conn, scope=scope, incident_id=incident_id)


def resolve(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    incident_id: int,
    actor: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None = None,
    note: str | None = None,
) -> IncidentRead:
    """Close with the outcome (and a false alarm's cause) as the centre; every page stops."""
    _path_in_scope(conn, scope=scope, incident_id=incident_id)
    resolve_incident(
        conn, incident_id=incident_id, actor=actor, outcome=outcome, cause=cause, note=note,
        party=Party.CENTRE,
    )  # fmt: skip
    return read_incident(conn, scope=scope, incident_id=incident_id)


def note(
    conn: psycopg.Connection[Any], *, scope: list[str], incident_id: int, actor: str, text: str
) -> IncidentRead:
    """Replace the incident's note; the audit log keeps every version."""
    _path_in_scope(conn, scope=scope, incident_id=incident_id)
    add_note(conn, incident_id=incident_id, actor=actor, note=text)
    return read_incident(conn, scope=scope, incident_id=incident_id)
