"""``/api/v1/health``: device health per village, flags, outages, battery forecasts.

The figures are the alerting watchdog's (docs/health.md); these routes only read them through
``api.device_health.service`` and cut them to the caller's part of the hierarchy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import Caller, ConnDep, StaffDep
from api.device_health import service as device_health
from api.device_health.schemas import BatteryForecast, HealthFlag, Outage, VillageHealth
from api.devices import service as devices
from api.organisations import service as organisations

router = APIRouter(prefix="/api/v1/health", tags=["device health"])
OrgQuery = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Organisation subtree")]
StatusQuery = Annotated[Literal["open", "closed", "cleared", "all"], Query()]


def _org_filter(conn: ConnDep, caller: Caller, org_id: int | None) -> int | None:
    """The organisation to filter by: the one asked for (404 outside scope) or the caller's."""
    if org_id is not None:
        organisations.read_organisation(conn, caller=caller, org_id=org_id)
        return org_id
    return None if caller.unscoped else caller.org_id


@router.get("/villages", response_model=list[VillageHealth])
def read_village_health(conn: ConnDep, caller: StaffDep, org_id: OrgQuery = None) -> list[dict]:
    """Online rate, offline, low battery, tamper, fault and open work orders per village."""
    return device_health.village_health(conn, org_id=_org_filter(conn, caller, org_id))


@router.get("/flags", response_model=list[HealthFlag])
def read_health_flags(
    conn: ConnDep, caller: StaffDep, org_id: OrgQuery = None, status: StatusQuery = "open"
) -> list[dict]:
    """Flapping devices and sites flagged for a visit (more than 5 false alarms a day)."""
    return device_health.health_flags(
        conn,
        status=None if status == "all" else status,
        org_id=_org_filter(conn, caller, org_id),
    )


@router.get("/outages", response_model=list[Outage])
def read_outages(conn: ConnDep, caller: StaffDep, status: StatusQuery = "open") -> list[dict]:
    """Gateway, village, system and ingest outages with their affected devices.

    A caller limited to part of the hierarchy sees the outages of its villages, and the
    system-wide ones (ingest down, whole fleet silent) without the list of devices.
    """
    rows = device_health.outages(conn, status=None if status == "all" else status)
    if caller.unscoped:
        return rows
    visible = []
    for row in rows:
        if row["scope"] in ("system", "ingest"):
            visible.append({**row, "devices": []})
        elif row["org_id"] is not None and _sees_org(conn, caller, row["org_id"]):
            visible.append(row)
    return visible


def _sees_org(conn: ConnDep, caller: Caller, org_id: int) -> bool:
    path = conn.execute("SELECT path FROM organisations WHERE id = %(id)s", {"id": org_id})
    row = path.fetchone()
    return row is not None and caller.sees_path(row["path"])


@router.get("/devices/{device_id}/battery", response_model=BatteryForecast)
def read_battery_forecast(
    device_id: Annotated[str, Path(min_length=1, max_length=64)],
    conn: ConnDep,
    caller: StaffDep,
) -> dict:
    """The battery line over the last 90 days and the predicted replacement date."""
    devices.read_device(conn, scope=caller.scope_like(), device_id=device_id)  # 404 if unseen
    rows = device_health.battery_forecast(conn, now=datetime.now(UTC), device_ids=[device_id])
    return rows[0] if rows else {"device_id": device_id, "samples": 0}
