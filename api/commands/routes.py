"""Device commands: ``/api/v1/devices/{id}/commands``, ``/api/v1/commands/{id}``, the board's
``/api/v1/incidents/{id}/commands`` and the relative's ``/api/v1/relative/{token}/commands``.

Who may ask for what is decided in core.commands.model; a model that cannot take a command is
answered 409 with the reason, and the GET routes list what each model takes.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.commands import service
from api.commands.schemas import CommandCreate, CommandRead, CommandSupport, RelativeSilence
from api.deps import Caller, ConnDep, FieldWorkerDep, RelativeDep, StaffDep
from api.errors import NotFound

router = APIRouter(tags=["commands"])


@router.get("/api/v1/devices/{device_id}/commands", response_model=CommandSupport)
def read_device_commands(device_id: str, conn: ConnDep, caller: StaffDep) -> CommandSupport:
    """What the device's model takes, and its latest commands."""
    view = service.read_device_commands(conn, scope=caller.scope_like(), device_id=device_id)
    return CommandSupport.model_validate(view)


@router.post("/api/v1/devices/{device_id}/commands", response_model=CommandRead, status_code=201)
def create_device_command(
    device_id: str, body: CommandCreate, conn: ConnDep, caller: FieldWorkerDep, response: Response
) -> CommandRead:
    """Ask the device to do something; the same kind already on its way is answered (200)."""
    row, created = service.create_command(
        conn, scope=caller.scope_like(), device_id=device_id, role=caller.role,
        actor=caller.actor, kind=body.kind, parameters=body.parameters,
        incident_id=body.incident_id, suspected_cause=body.suspected_cause,
        reason=body.reason,
    )  # fmt: skip
    if not created:
        response.status_code = 200
    return CommandRead.model_validate(row)


@router.get("/api/v1/commands/{command_id}", response_model=CommandRead)
def read_device_command(command_id: int, conn: ConnDep, caller: StaffDep) -> CommandRead:
    """One command and where it stands (poll it: requested, sent, acknowledged...)."""
    row = service.read_one(conn, scope=caller.scope_like(), command_id=command_id)
    return CommandRead.model_validate(row)


@router.get("/api/v1/incidents/{incident_id}/commands", response_model=CommandSupport)
def read_incident_commands(incident_id: int, conn: ConnDep, caller: StaffDep) -> CommandSupport:
    """The incident device's support and the incident's commands (the board's drawer)."""
    view = service.read_incident_commands(conn, scope=caller.scope_like(), incident_id=incident_id)
    return CommandSupport.model_validate(view)


@router.get("/api/v1/relative/{token}/commands", response_model=CommandSupport)
def read_relative_commands(token: str, conn: ConnDep, caller: RelativeDep) -> CommandSupport:
    """The household incident's device: can it be silenced, and the incident's commands."""
    site_id = _site(caller)
    view = service.relative_commands(conn, site_id=site_id, incident_id=caller.incident_id)
    return CommandSupport.model_validate(view)


@router.post("/api/v1/relative/{token}/silence", response_model=CommandRead, status_code=201)
def create_relative_silence(
    token: str, body: RelativeSilence, conn: ConnDep, caller: RelativeDep, response: Response
) -> CommandRead:
    """Silence my household's acknowledged alarm (``confirmed: true`` is the confirmation)."""
    site_id = _site(caller)
    row, created = service.relative_silence(
        conn, site_id=site_id, contact_id=caller.contact_id,
        actor=caller.actor, incident_id=caller.incident_id or body.incident_id,
        suspected_cause=body.suspected_cause, confirmed=body.confirmed,
    )  # fmt: skip
    if not created:
        response.status_code = 200
    return CommandRead.model_validate(row)


def _site(caller: Caller) -> int:
    if caller.site_id is None:
        raise NotFound("this link is not valid or has expired")
    return caller.site_id
