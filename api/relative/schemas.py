"""What a relative sees of their own household, and what they may send."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from core.incidents import FalseAlarmCause, Outcome

DeviceState = Literal["alarm", "fault", "offline", "low_battery", "ok"]


class Household(BaseModel):
    """The household's name and address, and the numbers to call there."""

    name: str
    address: str
    resident_name: str | None = None
    phone: str | None = None
    key_holder_name: str | None = None
    key_holder_phone: str | None = None


class ToldPerson(BaseModel):
    """Someone this incident paged: who, as what, how far the page got, whether they answered.
    The phone only for the household's own contacts (family, neighbour, key holder), never a
    grid worker's or cadre's private number."""

    name: str
    role: str
    phone: str | None
    delivered: bool
    answered: bool


class HouseholdDevice(BaseModel):
    """One detector of the household and how it is."""

    id: str
    room: str | None
    position: str | None
    state: DeviceState
    battery_pct: float | None
    last_seen: datetime | None


class RelativeDevice(BaseModel):
    """Where in the home the alarm went off."""

    room: str | None
    position: str | None


class RelativeReportRead(BaseModel):
    """What was reported from the field, awaiting the monitoring centre's review."""

    outcome: str
    false_alarm_cause: str | None
    reported_at: datetime


class RelativeIncident(BaseModel):
    """What a relative sees of an incident: what, when, how far along. Never the monitoring
    centre's notes, the resident's situation, coordinates or the assignee (who was paged is
    the view's ``told``, with phones of the household's own contacts only);
    who acknowledged only as a role word (``family``, ``grid_worker``...; null for the
    monitoring centre or when nobody has). ``centre_closes``: only the monitoring centre
    closes this incident (fire, heat): the link reports what was found instead."""

    id: int
    kind: str
    status: str
    opened_at: datetime
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by_role: str | None
    resolved_at: datetime | None
    outcome: str | None
    false_alarm_cause: str | None
    report: RelativeReportRead | None
    centre_closes: bool
    device: RelativeDevice


class RelativeView(BaseModel):
    """The relative's page: the incident (if any), the household, its detectors."""

    incident: RelativeIncident | None
    site: Household
    devices: list[HouseholdDevice]
    told: list[ToldPerson] = Field(default_factory=list)
    centre_phone: str | None = None


class RelativeResolve(BaseModel):
    """Body of POST /relative/{token}/resolve (tamper only) and /report (a field report)."""

    outcome: Outcome
    false_alarm_cause: FalseAlarmCause | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _cause_for_false_alarm(self) -> RelativeResolve:
        if self.outcome == Outcome.FALSE_ALARM and self.false_alarm_cause is None:
            raise ValueError("a false alarm needs false_alarm_cause")
        return self
