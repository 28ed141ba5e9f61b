"""``/api/v1/sites``: households and venues, and the household file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, FieldWorkerDep, OperatorDep, StaffDep
from api.lists import Page
from api.registry_access import disclosure
from api.sites import service
from api.sites.schemas import SiteCreate, SiteFile, SiteKind, SiteRead, SiteUpdate

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


@router.get("", response_model=Page[SiteRead])
def read_sites(
    *,
    caller: StaffDep,
    conn: ConnDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    org_id: int | None = None,
    kind: SiteKind | None = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    include_archived: bool = False,
    sort: Annotated[str, Query(max_length=40)] = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[SiteRead]:
    """Sites in scope: ``q`` searches name, address, resident and phone; ``org_id`` a subtree."""
    return service.list_sites(
        conn,
        scope=caller.scope_like(),
        q=q,
        org_id=org_id,
        kind=kind,
        category=category,
        include_archived=include_archived,
        sort=sort,
        limit=limit,
        offset=offset,
        disclosure=disclosure(caller),
    )


@router.get("/{site_id}", response_model=SiteFile)
def read_site(site_id: int, caller: StaffDep, conn: ConnDep) -> SiteFile:
    """The household file: site, contacts, devices with state and commissioning, incidents,
    history."""
    return service.read_site_file(
        conn, scope=caller.scope_like(), site_id=site_id, disclosure=disclosure(caller)
    )


@router.post("", response_model=SiteRead, status_code=201)
def create_site(data: SiteCreate, caller: FieldWorkerDep, conn: ConnDep) -> SiteRead:
    """Add a household or venue under an organisation of your scope."""
    return service.create_site(conn, scope=caller.scope_like(), data=data, actor=caller.actor)


@router.patch("/{site_id}", response_model=SiteRead)
def update_site(site_id: int, data: SiteUpdate, caller: FieldWorkerDep, conn: ConnDep) -> SiteRead:
    """Change the fields sent."""
    return service.update_site(
        conn, scope=caller.scope_like(), site_id=site_id, data=data, actor=caller.actor
    )


@router.delete("/{site_id}", response_model=SiteRead)
def delete_site(site_id: int, caller: OperatorDep, conn: ConnDep) -> SiteRead:
    """Archive the site (nothing is deleted); its detectors must be removed or moved first."""
    return service.archive_site(
        conn, scope=caller.scope_like(), site_id=site_id, actor=caller.actor
    )
