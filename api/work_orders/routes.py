"""``/api/v1/work-orders``: list, read, close with a reason, assign."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, OperatorDep, WatcherDep
from api.lists import Page
from api.work_orders import service
from api.work_orders.schemas import (
    WorkOrderAssign,
    WorkOrderClose,
    WorkOrderKind,
    WorkOrderRead,
    WorkOrderSort,
    WorkOrderStatus,
)

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"])


@router.get("", response_model=Page[WorkOrderRead])
def read_work_orders(
    *,
    conn: ConnDep,
    caller: WatcherDep,
    status: WorkOrderStatus | None = None,
    kind: WorkOrderKind | None = None,
    org_id: int | None = None,
    site_id: int | None = None,
    device_id: str | None = None,
    sort: WorkOrderSort = "-opened_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[WorkOrderRead]:
    """Work orders in the caller's scope."""
    return service.list_work_orders(
        conn, scope=caller.scope_like(), status=status, kind=kind, org_id=org_id,
        site_id=site_id, device_id=device_id, sort=sort, limit=limit, offset=offset,
    )  # fmt: skip


@router.get("/{work_order_id}", response_model=WorkOrderRead)
def read_work_order(work_order_id: int, conn: ConnDep, caller: WatcherDep) -> WorkOrderRead:
    """One work order."""
    return service.read_work_order(conn, scope=caller.scope_like(), work_order_id=work_order_id)


@router.post("/{work_order_id}/close", response_model=WorkOrderRead)
def close_work_order(
    work_order_id: int, body: WorkOrderClose, conn: ConnDep, caller: OperatorDep
) -> WorkOrderRead:
    """Close with the reason (battery replaced, device reinstalled...); twice is a 409."""
    return service.close_work_order(
        conn, scope=caller.scope_like(), work_order_id=work_order_id, reason=body.reason,
        note=body.note,
    )  # fmt: skip


@router.post("/{work_order_id}/assign", response_model=WorkOrderRead)
def assign_work_order(
    work_order_id: int, body: WorkOrderAssign, conn: ConnDep, caller: OperatorDep
) -> WorkOrderRead:
    """Give the job to a contact the caller sees (null takes it back)."""
    return service.assign_work_order(
        conn, scope=caller.scope_like(), work_order_id=work_order_id,
        contact_id=body.contact_id, note=body.note,
    )  # fmt: skip
