"""``/api/v1/incidents``: list, read with timeline, acknowledge, assign, resolve, note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, OperatorDep, WatcherDep
from api.incidents import service
from api.incidents.schemas import (
    IncidentAcknowledge,
    IncidentAssign,
    IncidentDetail,
    IncidentKind,
    IncidentNote,
    IncidentRead,
    IncidentResolve,
    IncidentSort,
    IncidentStatusFilter,
)
from api.lists import Page
from api.types import Timestamp
from core.incidents import Outcome

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("", response_model=Page[IncidentRead])
def read_incidents(
    *,
    conn: ConnDep,
    caller: WatcherDep,
    status: IncidentStatusFilter | None = None,
    kind: IncidentKind | None = None,
    org_id: int | None = None,
    site_id: int | None = None,
    device_id: str | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    resolved_since: Timestamp | None = None,
    outcome: Outcome | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    sort: IncidentSort = "-opened_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[IncidentRead]:
    """Incidents in the caller's scope; ``status=open`` means not yet resolved."""
    return service.list_incidents(
        conn,
        scope=caller.scope_like(),
        status=status,
        kind=kind,
        org_id=org_id,
        site_id=site_id,
        device_id=device_id,
        since=since,
        until=until,
        resolved_since=resolved_since,
        outcome=outcome,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.get("/{incident_id}", response_model=IncidentDetail)
def read_incident(incident_id: int, conn: ConnDep, caller: WatcherDep) -> IncidentDetail:
    """One incident with its timeline (audit log) and every delivery attempt."""
    return service.read_incident_detail(conn, scope=caller.scope_like(), incident_id=incident_id)


@router.post("/{incident_id}/acknowledge", response_model=IncidentRead)
def acknowledge_incident(
    incident_id: int, body: IncidentAcknowledge, conn: ConnDep, caller: OperatorDep
) -> IncidentRead:
    """The monitoring centre has it: pending pages stop, the board's siren stops and the
    supervisors are not paged. Repeating it changes nothing."""
    return service.acknowledge(
        conn, scope=caller.scope_like(), incident_id=incident_id, actor=caller.actor,
        note=body.note,
    )  # fmt: skip


@router.post("/{incident_id}/assign", response_model=IncidentRead)
def assign_incident(
    incident_id: int, body: IncidentAssign, conn: ConnDep, caller: OperatorDep
) -> IncidentRead:
    """Put a contact in charge (null takes it back)."""
    return service.assign(
        conn, scope=caller.scope_like(), incident_id=incident_id, actor=caller.actor,
        contact_id=body.contact_id, note=body.note,
    )  # fmt: skip


@router.post("/{incident_id}/resolve", response_model=IncidentRead)
def resolve_incident(
    incident_id: int, body: IncidentResolve, conn: ConnDep, caller: OperatorDep
) -> IncidentRead:
    """Close with the outcome (a false alarm with its cause), from any open state including a
    field report (``reported``); every pending page stops."""
    return service.resolve(
        conn, scope=caller.scope_like(), incident_id=incident_id, actor=caller.actor,
        outcome=body.outcome, cause=body.false_alarm_cause, note=body.note,
    )  # fmt: skip


@router.post("/{incident_id}/note", response_model=IncidentRead)
def update_incident_note(
    incident_id: int, body: IncidentNote, conn: ConnDep, caller: OperatorDep
) -> IncidentRead:
    """Replace the incident's note; the audit log keeps every version."""
    return service.note(
        conn, scope=caller.scope_like(), incident_id=incident_id, actor=caller.actor,
        text=body.note,
    )  # fmt: skip
