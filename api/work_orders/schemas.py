"""Work-order shapes: list items, close and assign bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.incidents.schemas import PersonRef, PlaceRef

WorkOrderStatus = Literal["open", "closed"]
WorkOrderKind = Literal["tamper", "fault", "low_battery", "offline", "end_of_life"]
WorkOrderSort = Literal["opened_at", "-opened_at", "last_event_at", "-last_event_at"]


class WorkOrderDevice(BaseModel):
    """The detector to visit."""

    id: str
    room: str | None
    position: str | None
    model_code: str


class WorkOrderSite(BaseModel):
    """Where to go."""

    id: int
    name: str
    kind: str
    address: str


class WorkOrderRead(BaseModel):
    """A maintenance job: what, where, since when, who."""

    id: int
    kind: str
    status: str
    opened_at: datetime
    last_event_at: datetime
    event_count: int
    closed_at: datetime | None
    closed_reason: str | None
    note: str | None
    assigned_to: PersonRef | None
    device: WorkOrderDevice
    site: WorkOrderSite
    village: PlaceRef | None


class WorkOrderClose(BaseModel):
    """Body of POST /work-orders/{id}/close: why the job is done."""

    reason: str = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=2000)


class WorkOrderAssign(BaseModel):
    """Body of POST /work-orders/{id}/assign; ``contact_id`` null takes it back."""

    contact_id: int | None
    note: str | None = Field(default=None, max_length=2000)
