"""``/api/v1/organisations``: the hierarchy in scope; escalation overrides per organisation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import AdminDep, ConnDep, OperatorDep, StaffDep
from api.organisations import service
from api.organisations.schemas import (
    EscalationOverride,
    EscalationRead,
    OrganisationCreate,
    OrganisationNode,
    OrganisationRead,
    OrganisationUpdate,
)

router = APIRouter(prefix="/api/v1/organisations", tags=["organisations"])
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=list[OrganisationNode])
def read_organisations(conn: ConnDep, caller: StaffDep) -> list[OrganisationNode]:
    """The organisations you may see, as trees rooted at your scope."""
    return service.read_tree(conn, caller=caller)


@router.post("", response_model=OrganisationRead, status_code=201)
def create_organisation(
    data: OrganisationCreate, conn: ConnDep, caller: AdminDep
) -> OrganisationRead:
    """Add an organisation inside your scope."""
    return service.create_organisation(conn, caller=caller, data=data)


@router.get("/{org_id}", response_model=OrganisationRead)
def read_organisation(org_id: IdPath, conn: ConnDep, caller: StaffDep) -> OrganisationRead:
    """One organisation in your scope."""
    return service.read_organisation(conn, caller=caller, org_id=org_id)


@router.patch("/{org_id}", response_model=OrganisationRead)
def update_organisation(
    org_id: IdPath, data: OrganisationUpdate, conn: ConnDep, caller: AdminDep
) -> OrganisationRead:
    """Rename an organisation (moving is not offered: it would re-path the subtree)."""
    return service.update_organisation(conn, caller=caller, org_id=org_id, data=data)


@router.get("/{org_id}/escalation", response_model=EscalationRead)
def read_escalation(org_id: IdPath, conn: ConnDep, caller: OperatorDep) -> EscalationRead:
    """The organisation's escalation override (empty: inherited from above or the defaults)."""
    return service.read_escalation(conn, caller=caller, org_id=org_id)


@router.put("/{org_id}/escalation", response_model=EscalationRead)
def update_escalation(
    org_id: IdPath, data: EscalationOverride, conn: ConnDep, caller: AdminDep
) -> EscalationRead:
    """Replace the override; the alert engine uses it for the next incident in the subtree."""
    return service.update_escalation(conn, caller=caller, org_id=org_id, data=data)


@router.delete("/{org_id}/escalation", status_code=204)
def delete_escalation(org_id: IdPath, conn: ConnDep, caller: AdminDep) -> Response:
    """Remove the override."""
    service.delete_escalation(conn, caller=caller, org_id=org_id)
    return Response(status_code=204)
