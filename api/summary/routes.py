"""``/api/v1/summary/dashboard``, ``/api/v1/summary/villages`` and ``/api/v1/map/sites``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, StaffDep
from api.summary import service
from api.summary.schemas import DashboardRead, MapSite, VillageRead

router = APIRouter(prefix="/api/v1", tags=["summary"])


@router.get("/summary/dashboard", response_model=DashboardRead)
def read_dashboard(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> DashboardRead:
    """Device health (as of the last village_health refresh) and live incident figures."""
    return DashboardRead.model_validate(
        service.dashboard(conn, scope=caller.scope_like(), org_id=org_id, days=days)
    )


@router.get("/summary/villages", response_model=list[VillageRead])
def read_village_summaries(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> list[VillageRead]:
    """Installation progress and device health per village or community."""
    rows = service.villages(conn, scope=caller.scope_like(), org_id=org_id, limit=limit)
    return [VillageRead.model_validate(r) for r in rows]


@router.get("/map/sites", response_model=list[MapSite])
def read_map_sites(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> list[MapSite]:
    """Sites with coordinates and state (alarm, fault, offline, ok, no_device)."""
    rows = service.map_sites(conn, scope=caller.scope_like(), org_id=org_id, limit=limit)
    return [MapSite.model_validate(r) for r in rows]
