"""What a relative sees of their own household, and what they may send."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from api.incidents.schemas import IncidentRead
from core.incidents import FalseAlarmCause, Outcome

DeviceState = Literal["alarm", "fault", "offline", "low_battery", "ok"]


class Household(BaseModel):
    """The household's name and address."""

    name: str
    address: str


class HouseholdDevice(BaseModel):
    """One detector of the household and how it is."""

    id: str
    room: str | None
    position: str | None
    state: DeviceState
    battery_pct: float | None
    last_seen: datetime | None


class RelativeView(BaseModel):
    """The relative's page: the incident (if any), the household, its detectors."""

    incident: IncidentRead | None
    site: Household
    devices: list[HouseholdDevice]


class RelativeResolve(BaseModel):
    """Body of POST /relative/{token}/resolve."""

    outcome: Outcome
    false_alarm_cause: FalseAlarmCause | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _cause_for_false_alarm(self) -> RelativeResolve:
        if self.outcome == Outcome.FALSE_ALARM and self.false_alarm_cause is None:
            raise ValueError("a false alarm needs false_alarm_cause")
        return self
