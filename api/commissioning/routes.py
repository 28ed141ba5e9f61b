"""``/api/v1/devices/{id}/commissioning``: the on-site test an installer runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from api.commissioning import service
from api.commissioning.polling import BrieflyFieldWorker, long_poll
from api.commissioning.schemas import CommissioningCreate, CommissioningRead
from api.deps import ConnDep, FieldWorkerDep, SettingsDep, get_pool

router = APIRouter(prefix="/api/v1/devices", tags=["commissioning"])


@router.post("/{device_id}/commissioning", response_model=CommissioningRead, status_code=201)
def create_commissioning(
    device_id: str,
    caller: FieldWorkerDep,
    conn: ConnDep,
    data: Annotated[CommissioningCreate | None, Body()] = None,
) -> CommissioningRead:
    """Start a test, then press the detector's test button and poll the report."""
    return service.start_commissioning(
        conn,
        scope=caller.scope_like(),
        device_id=device_id,
        data=data or CommissioningCreate(),
        actor=caller.actor,
    )


@router.get("/{device_id}/commissioning/{session_id}", response_model=CommissioningRead)
async def read_commissioning(
    *,
    device_id: str,
    session_id: int,
    request: Request,
    caller: BrieflyFieldWorker,
    settings: SettingsDep,
    wait_s: Annotated[float, Query(ge=0, le=20, description="long-poll up to this long")] = 0,
) -> CommissioningRead:
    """waiting, then passed or failed with checks in Chinese and English.

    Poll every 1-2 s, or long-poll with ``wait_s`` (answers as soon as the state changes; no
    database connection is held while waiting; when too many requests already wait, answers
    at once with the current state).
    """
    return await long_poll(
        get_pool(request),
        settings.api_pool_timeout_s,
        scope=caller.scope_like(),
        device_id=device_id,
        session_id=session_id,
        wait_s=wait_s,
    )
