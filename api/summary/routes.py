"""``/api/v1/summary/dashboard``, ``/summary/villages``, ``/summary/board`` and ``/map/sites``.

The JSON is built by the database (see queries.sql) and sent as it comes; the response models
document the shapes in OpenAPI and the tests hold the two together.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ConnDep, StaffDep
from api.summary import export, service
from api.summary.schemas import BoardRead, DashboardRead, MapSite, VillageRead

router = APIRouter(prefix="/api/v1", tags=["summary"])


@router.get("/summary/dashboard", response_model=DashboardRead)
def read_dashboard(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    """Device health (as of the last village_health refresh) and live incident figures."""
    body = service.dashboard(conn, scope=caller.scope_like(), org_id=org_id, days=days)
    return Response(body, media_type="application/json")


@router.get("/summary/villages", response_model=list[VillageRead])
def read_village_summaries(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> Response:
    """Installation progress and device health per village or community."""
    body = service.villages(conn, scope=caller.scope_like(), org_id=org_id, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/summary/board", response_model=BoardRead)
def read_board_counts(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> Response:
    """The board's counts from live device state in one answer: key figures, the map's legend
    (sites by state), the village table and the map's sites (at most ``limit``)."""
    body = service.board(conn, scope=caller.scope_like(), org_id=org_id, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/map/sites", response_model=list[MapSite])
def read_map_sites(
    conn: ConnDep,
    caller: StaffDep,
    org_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
) -> Response:
    """Sites with coordinates and state (alarm, fault, offline, ok, no_device)."""
    body = service.map_sites(conn, scope=caller.scope_like(), org_id=org_id, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/summary/monthly", response_class=Response)
def read_monthly_statistics(
    conn: ConnDep,
    caller: StaffDep,
    month: Annotated[str, Query(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")],
    format: Literal["csv", "xlsx"] = "xlsx",
) -> Response:
    """The month's statistics per village and sub-district for the fire-safety committee, as
    an XLSX workbook or a CSV file (formula-like text neutralised)."""
    rows = export.monthly_rows(conn, scope=caller.scope_like(), month=month)
    name = f"smokewatch-{month}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(export.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(export.to_xlsx(rows, month=month), media_type=media, headers=headers)
