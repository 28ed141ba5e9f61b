"""The command lifecycle in the database: request, claim (marked sent), answer, expire.

Shared by the API (requests) and ingest (dispatch and acknowledgements). Every function runs
in the caller's transaction; a command that belongs to an incident writes the incident's audit
log (action ``command``) at each change of state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.commands.errors import CommandNotFound
from core.commands.model import (
    LIFETIME,
    RETRY_AFTER,
    IncidentFacts,
    Kind,
    Requester,
    State,
    check_request,
    parameters_for,
    require_support,
)
from core.db import load_queries
from core.incidents import log_action

Q = load_queries("core.commands", "queries.sql")
Row = dict[str, Any]


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
    return conn.cursor(row_factory=dict_row)


def request_command(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    kind: Kind,
    requester: Requester,
    requested_by: str,
    parameters: dict[str, Any] | None = None,
    incident_id: int | None = None,
    contact_id: int | None = None,
    reason: str | None = None,
    suspected_cause: str | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
) -> tuple[Row, bool]:
    """Store a command after the rules allow it; (command, created). A live command of the
    same kind for the device is returned instead of a second one (created False)."""
    now = now or datetime.now(UTC)
    cur = _cur(conn)
    device = cur.execute(Q["device_for_command"], {"device_id": device_id}).fetchone()
    if device is None:
        raise CommandNotFound(f"no device {device_id}")
    incident = None
    if incident_id is not None:
        row = cur.execute(Q["incident_facts"], {"incident_id": incident_id}).fetchone()
        if row is None:
            raise CommandNotFound(f"no incident {incident_id}")
        incident = IncidentFacts(**row)
    check_request(
        kind=kind, requester=requester, device_id=device_id, incident=incident,
        suspected_cause=suspected_cause, confirmed=confirmed,
    )  # fmt: skip
    support = require_support(device["model_code"], kind)
    params = parameters_for(kind, support, parameters or {})
    inserted = cur.execute(
        Q["insert_command"],
        {
            "device_id": device_id, "kind": kind.value, "parameters": Jsonb(params),
            "transport": support.transport, "incident_id": incident_id,
            "requested_by": requested_by, "requested_role": requester.role,
            "contact_id": contact_id, "reason": reason, "now": now,
            "expires_at": now + LIFETIME[kind],
        },
    ).fetchone()  # fmt: skip
    if inserted is None:
        live = cur.execute(Q["live_command"], {"device_id": device_id, "kind": kind.value})
        existing = live.fetchone()
        if existing is None:  # finished between the two statements: ask again
            return request_command(
                conn, device_id=device_id, kind=kind, requester=requester,
                requested_by=requested_by, parameters=parameters, incident_id=incident_id,
                contact_id=contact_id, reason=reason, suspected_cause=suspected_cause,
                confirmed=confirmed, now=now,
            )  # fmt: skip
        return existing, False
    _log(conn, inserted, now, actor=requested_by, contact_id=contact_id,
         extra={"suspected_cause": suspected_cause, "reason": reason})  # fmt: skip
    return inserted, True


def claim_due(
    conn: psycopg.Connection[Any],
    *,
    limit: int = 50,
    retry_after: timedelta = RETRY_AFTER,
    now: datetime | None = None,
) -> list[Row]:
    """Claim due commands and mark them sent (commit before publishing them)."""
    now = now or datetime.now(UTC)
    rows = (
        _cur(conn)
        .execute(Q["claim_due"], {"now": now, "limit": limit, "retry_after": retry_after})
        .fetchall()
    )
    for row in rows:
        if row["attempts"] == 1:
            _log(conn, row, now, actor="smokewatch")
    return rows


def expire_due(conn: psycopg.Connection[Any], *, now: datetime | None = None) -> list[Row]:
    """Mark commands past their deadline expired."""
    now = now or datetime.now(UTC)
    rows = _cur(conn).execute(Q["expire_due"], {"now": now}).fetchall()
    for row in rows:
        _log(conn, row, now, actor="smokewatch")
    return rows


def finish_command(
    conn: psycopg.Connection[Any],
    *,
    command_id: int,
    device_id: str,
    result: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Row | None:
    """Record the device's answer: ``ok`` acknowledges, anything else fails the command.
    None when the command is unknown, someone else's, or already finished (a repeat)."""
    now = now or datetime.now(UTC)
    state = State.ACKNOWLEDGED if result == "ok" else State.FAILED
    params = {
        "id": command_id,
        "device_id": device_id,
        "state": state.value,
        "result": result,
        "detail": Jsonb(detail) if detail else None,
        "now": now,
    }
    row = _cur(conn).execute(Q["finish_command"], params).fetchone()
    if row is not None:
        _log(conn, row, now, actor=device_id)
    return row


def finish_oldest_sent(
    conn: psycopg.Connection[Any],
    *,
    codec: str,
    external_id: str,
    result: str,
    kind: Kind | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Row | None:
    """Answer the oldest sent command of the device behind a vendor identity."""
    target = (
        _cur(conn)
        .execute(
            Q["oldest_sent"],
            {"codec": codec, "external_id": external_id, "kind": kind.value if kind else None},
        )
        .fetchone()
    )
    if target is None:
        return None
    return finish_command(
        conn, command_id=target["id"], device_id=target["device_id"], result=result,
        detail=detail, now=now,
    )  # fmt: skip


def note_external_id(conn: psycopg.Connection[Any], *, command_id: int, external_id: str) -> None:
    """Keep the platform's own id of a command (CTWing commandId) to match its receipt."""
    conn.execute(Q["set_external_id"], {"id": command_id, "external_id": external_id})


def finish_external(
    conn: psycopg.Connection[Any],
    *,
    transport: str,
    external_id: str,
    result: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Row | None:
    """Answer the live command a platform knows as ``external_id``."""
    params = {"transport": transport, "external_id": external_id}
    target = _cur(conn).execute(Q["by_external_id"], params).fetchone()
    if target is None:
        return None
    return finish_command(
        conn, command_id=target["id"], device_id=target["device_id"], result=result,
        detail=detail, now=now,
    )  # fmt: skip


def read_command(conn: psycopg.Connection[Any], command_id: int) -> Row:
    """One command; :class:`CommandNotFound` when there is none."""
    row = _cur(conn).execute(Q["read_command"], {"id": command_id}).fetchone()
    if row is None:
        raise CommandNotFound(f"no command {command_id}")
    return row


def device_commands(conn: psycopg.Connection[Any], device_id: str, *, limit: int = 20) -> list[Row]:
    """The device's latest commands, newest first."""
    params = {"device_id": device_id, "limit": limit}
    return _cur(conn).execute(Q["device_commands"], params).fetchall()


def incident_commands(conn: psycopg.Connection[Any], incident_id: int) -> list[Row]:
    """Commands that belong to the incident, newest first."""
    return _cur(conn).execute(Q["incident_commands"], {"incident_id": incident_id}).fetchall()


def _log(
    conn: psycopg.Connection[Any],
    row: Row,
    at: datetime,
    *,
    actor: str | None,
    contact_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    if row.get("incident_id") is None:
        return
    detail = {"command_id": row["id"], "kind": row["kind"], "state": row["state"]}
    if row.get("result"):
        detail["result"] = row["result"]
    detail |= {k: v for k, v in (extra or {}).items() if v is not None}
    log_action(
        conn, incident_id=row["incident_id"], action="command", at=at, actor=actor,
        contact_id=contact_id, detail=detail,
    )  # fmt: skip
