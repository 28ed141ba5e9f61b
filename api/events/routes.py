"""``/api/v1/events``: detector events by device, site, organisation, type and time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, StaffDep
from api.events import service
from api.events.schemas import EventRead
from api.lists import CappedPage
from api.types import Timestamp

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get("", response_model=CappedPage[EventRead])
def read_events(
    *,
    conn: ConnDep,
    caller: StaffDep,
    device_id: str | None = None,
    site_id: int | None = None,
    org_id: int | None = None,
    type: str | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CappedPage[EventRead]:
    """Newest first, over [since, until) (default: the last 24 hours); ``total`` stops counting
    at 10,000 (``total_capped`` then)."""
    total, capped, items = service.list_events(
        conn, scope=caller.scope_like(), since=since, until=until, device_id=device_id,
        site_id=site_id, org_id=org_id, event_type=type, limit=limit, offset=offset,
    )  # fmt: skip
    return CappedPage[EventRead].model_validate(
        {"items": items, "total": total, "total_capped": capped, "limit": limit, "offset": offset}
    )
