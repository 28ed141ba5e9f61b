"""Shapes of the device-health answers (figures computed by the alerting watchdog)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class VillageHealth(BaseModel):
    """One village's health figures as of the watchdog's last refresh."""

    org_id: int
    name: str
    name_en: str | None = None
    code: str
    as_of: datetime | None = None
    sites: int
    devices: int
    in_service: int
    online: int
    offline: int
    online_rate: float | None = None
    low_battery: int
    tamper: int
    fault: int
    open_work_orders: int
    oldest_open_work_order_at: datetime | None = None


class HealthFlag(BaseModel):
    """A flapping device or a site with too many false alarms (flagged once, count kept)."""

    id: int
    kind: Literal["flapping_connection", "flapping_alarm", "false_alarms"]
    device_id: str | None = None
    site_id: int | None = None
    address: str | None = None
    room: str | None = None
    status: Literal["open", "cleared"]
    flagged_at: datetime
    updated_at: datetime
    count: int
    max_count: int


class Outage(BaseModel):
    """Many devices silent together: one record instead of one work order each."""

    id: int
    scope: Literal["gateway", "village", "system", "ingest"]
    scope_key: str
    org_id: int | None = None
    status: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None = None
    device_count: int
    still_silent: int
    devices: list[str]
    note: str | None = None


class BatteryForecast(BaseModel):
    """A device's battery trend and the date its line crosses the replacement threshold."""

    device_id: str
    samples: int
    basis: Literal["pct", "mv"] | None = None
    pct_per_day: float | None = None
    pct_now: float | None = None
    mv_per_day: float | None = None
    mv_now: float | None = None
    replace_by: datetime | None = None
