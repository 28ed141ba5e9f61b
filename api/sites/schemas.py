"""Sites: households (one file per household) and small venues."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.contacts.schemas import ContactRead
from api.devices.schemas import DeviceRead
from api.types import NOT_BLANK, Phone

HOUSEHOLD_CATEGORIES: Final = ("elderly_alone", "widowed", "disabled", "dementia", "other_at_risk")
VENUE_CATEGORIES: Final = (
    "shop", "eatery", "small_hotel", "internet_cafe", "workshop", "warehouse", "shared_building",
    "other_venue",
)  # fmt: skip
SiteKind = Literal["household", "venue"]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=NOT_BLANK)
]


def check_category(kind: str | None, category: str | None) -> None:
    """A household's category says who lives there; a venue's, what kind of place it is."""
    if kind is None or category is None:
        return
    allowed = HOUSEHOLD_CATEGORIES if kind == "household" else VENUE_CATEGORIES
    if category not in allowed:
        raise ValueError(f"category of a {kind} must be one of {', '.join(allowed)}")


class _SiteFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    phone: Phone | None = None
    resident_name: Text | None = None
    resident_situation: list[Tag] = Field(default_factory=list, max_length=10)
    key_holder_name: Text | None = None
    key_holder_phone: Phone | None = None
    risk_flags: list[Tag] = Field(default_factory=list, max_length=20)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class SiteCreate(_SiteFields):
    """A new household or venue under a village, community or grid of the caller's scope."""

    org_id: int
    kind: SiteKind
    category: str
    name: Text
    address: Text

    @model_validator(mode="after")
    def _category_fits_kind(self) -> SiteCreate:
        check_category(self.kind, self.category)
        return self


class SiteUpdate(BaseModel):
    """Fields to change; only the ones sent are changed (``null`` clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    org_id: int | None = None
    kind: SiteKind | None = None
    category: str | None = None
    name: Text | None = None
    address: Text | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    phone: Phone | None = None
    resident_name: Text | None = None
    resident_situation: list[Tag] | None = Field(None, max_length=10)
    key_holder_name: Text | None = None
    key_holder_phone: Phone | None = None
    risk_flags: list[Tag] | None = Field(None, max_length=20)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _category_fits_kind(self) -> SiteUpdate:
        check_category(self.kind, self.category)
        for required in ("org_id", "kind", "category", "name", "address"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be cleared")
        return self


class OrgRef(BaseModel):
    id: int
    name: str


class SiteRead(BaseModel):
    """A site as listed."""

    id: int
    org: OrgRef
    kind: SiteKind
    category: str
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    phone: str | None
    resident_name: str | None
    resident_situation: list[str]
    key_holder_name: str | None
    key_holder_phone: str | None
    risk_flags: list[str]
    notes: str | None
    device_count: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SiteRead:
        return cls(org=OrgRef(id=row["org_id"], name=row["org_name"]), **row)


class IncidentBrief(BaseModel):
    id: int
    device_id: str
    kind: str
    status: str
    priority: int
    opened_at: datetime
    last_event_at: datetime
    event_count: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    outcome: str | None
    false_alarm_cause: str | None


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    actor: str | None
    device_id: str | None
    detail: dict[str, Any] | None


class SiteFile(SiteRead):
    """The household file: the site, whom to call, its detectors and what happened."""

    contacts: list[ContactRead]
    devices: list[DeviceRead]
    recent_incidents: list[IncidentBrief]
    history: list[HistoryEntry]
