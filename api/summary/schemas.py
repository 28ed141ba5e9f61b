"""Dashboard, village summary and map shapes (API contract)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

SiteState = Literal["alarm", "fault", "offline", "ok", "no_device"]


class DayCount(BaseModel):
    """Fire and heat incidents opened on one (local) day."""

    day: date
    count: int


class VillageCount(BaseModel):
    """Fire and heat incidents in one village over the window."""

    org_id: int
    name: str
    count: int


class DashboardRead(BaseModel):
    """The 24-hour screen's figures. Device health as of ``as_of``; incidents live."""

    as_of: datetime | None
    devices: int
    online: int
    offline: int
    low_battery: int
    tamper: int
    fault: int
    open_incidents: int
    open_work_orders: int
    alarms_by_day: list[DayCount]
    alarms_by_village: list[VillageCount]
    fires_caught_early: int
    false_alarm_rate: float | None


class VillageRead(BaseModel):
    """One village's installation progress and device health."""

    org_id: int
    name: str
    as_of: datetime
    sites: int
    devices: int
    in_service: int
    installed_pct: float | None
    online_rate: float | None
    low_battery: int
    offline: int
    tamper: int
    fault: int
    open_work_orders: int
    oldest_open_work_order_at: datetime | None
    open_incidents: int


class MapSite(BaseModel):
    """A site on the map with its worst current state."""

    site_id: int
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    state: SiteState


class SitesByState(BaseModel):
    """How many sites the map shows in each state (its legend)."""

    alarm: int
    fault: int
    offline: int
    ok: int
    no_device: int


class BoardFigures(BaseModel):
    """Live counts over the sites in scope (the board's key figures, or one village's row)."""

    sites: int
    devices: int
    in_service: int
    online: int
    offline: int
    low_battery: int
    tamper: int
    fault: int
    open_work_orders: int


class BoardVillage(BoardFigures):
    """One village's (or community's) live figures, over the sites in the caller's scope."""

    org_id: int
    name: str
    installed_pct: float | None
    online_rate: float | None


class BoardRead(BoardFigures):
    """Every count on the operator's board, from live device state at ``as_of``, in one answer:
    the key figures, the legend, the village table and the map always agree."""

    as_of: datetime
    sites_by_state: SitesByState
    villages: list[BoardVillage]
    map: list[MapSite]
