"""Event shapes: one stored detector event (lists are ``CappedPage[EventRead]``)."""

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
