"""``/api/v1/devices/{id}/readings`` (raw or bucketed) and ``/api/v1/devices/{id}/status``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, StaffDep
from api.readings import service
from api.readings.schemas import Bucket, DeviceStatusRead, ReadingSeries
from api.types import Timestamp

router = APIRouter(prefix="/api/v1/devices", tags=["readings"])


@router.get("/{device_id}/readings", response_model=ReadingSeries)
def read_device_readings(
    *,
    device_id: str,
    conn: ConnDep,
    caller: StaffDep,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    bucket: Bucket = "raw",
    limit: Annotated[int, Query(ge=1, le=service.MAX_ROWS)] = service.MAX_ROWS,
) -> ReadingSeries:
    """Readings over [since, until) (default: the last 24 hours), raw or per bucket."""
    series = service.device_readings(
        conn, scope=caller.scope_like(), device_id=device_id, since=since, until=until,
        bucket=bucket, limit=limit,
    )  # fmt: skip
    return ReadingSeries.model_validate(series)


@router.get("/{device_id}/status", response_model=DeviceStatusRead)
def read_device_status(device_id: str, conn: ConnDep, caller: StaffDep) -> DeviceStatusRead:
    """The device's current state: online (deadline not passed), battery, signal, flags."""
    return DeviceStatusRead.model_validate(
        service.device_status(conn, scope=caller.scope_like(), device_id=device_id)
    )
