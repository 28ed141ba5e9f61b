"""Event shapes: one stored detector event, a page of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventRead(BaseModel):
    """A detector event as stored (device time ``ts``, our receive time ``received_at``)."""

    id: int
    device_id: str
    site_id: int | None
    ts: datetime
    received_at: datetime
    type: str
    priority: int
    source: str
    data: dict[str, Any] | None


class EventPage(BaseModel):
    """One page of events; ``total`` stops counting at 10,000 (``total_capped`` then)."""

    items: list[EventRead]
    total: int
    total_capped: bool
    limit: int
    offset: int
