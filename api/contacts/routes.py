"""``/api/v1/contacts``: whom to page for a site or an organisation, in order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.contacts import service
from api.contacts.schemas import ContactCreate, ContactRead, ContactUpdate, Role
from api.contacts.service import ChannelRules
from api.deps import (
    OPERATOR_ROLES,
    Caller,
    ConnDep,
    FieldWorkerDep,
    OperatorDep,
    SettingsDep,
    StaffDep,
)
from api.lists import Page
from api.registry_access import disclosure
from api.settings import ApiSettings

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


def _rules(caller: Caller, settings: ApiSettings) -> ChannelRules:
    return ChannelRules(
        schemes=tuple(settings.api_contact_channel_schemes),
        environment=settings.environment,
        may_manage=caller.role in OPERATOR_ROLES,
    )


@router.get("", response_model=Page[ContactRead])
def read_contacts(
    *,
    caller: StaffDep,
    conn: ConnDep,
    site_id: int | None = None,
    org_id: int | None = None,
    role: Role | None = None,
    include_inactive: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ContactRead]:
    """Contacts in scope, in paging order; channels masked except for administrators."""
    return service.list_contacts(
        conn,
        scope=caller.scope_like(),
        disclosure=disclosure(caller),
        site_id=site_id,
        org_id=org_id,
        role=role,
        include_inactive=include_inactive,
        limit=limit,
        offset=offset,
    )


@router.get("/{contact_id}", response_model=ContactRead)
def read_contact(contact_id: int, caller: StaffDep, conn: ConnDep) -> ContactRead:
    """One contact."""
    return service.read_contact(
        conn, scope=caller.scope_like(), contact_id=contact_id, disclosure=disclosure(caller)
    )


@router.post("", response_model=ContactRead, status_code=201)
def create_contact(
    data: ContactCreate, caller: FieldWorkerDep, conn: ConnDep, settings: SettingsDep
) -> ContactRead:
    """Add a contact; channels (operators and administrators only) are Apprise URLs of an
    allowed, person-facing scheme."""
    return service.create_contact(
        conn,
        scope=caller.scope_like(),
        data=data,
        disclosure=disclosure(caller),
        rules=_rules(caller, settings),
    )


@router.patch("/{contact_id}", response_model=ContactRead)
def update_contact(
    contact_id: int,
    data: ContactUpdate,
    caller: FieldWorkerDep,
    conn: ConnDep,
    settings: SettingsDep,
) -> ContactRead:
    """Change the fields sent; a masked channel sent back unchanged keeps its secret.
    Installers change names, phones, roles and priorities; channels and ``active`` are for
    operators and administrators."""
    return service.update_contact(
        conn,
        scope=caller.scope_like(),
        contact_id=contact_id,
        data=data,
        disclosure=disclosure(caller),
        rules=_rules(caller, settings),
    )


@router.delete("/{contact_id}", response_model=ContactRead)
def delete_contact(contact_id: int, caller: OperatorDep, conn: ConnDep) -> ContactRead:
    """Deactivate the contact (kept for the incident history); operators and administrators."""
    return service.deactivate_contact(
        conn, scope=caller.scope_like(), contact_id=contact_id, disclosure=disclosure(caller)
    )
