"""Contacts: the people paged for a site or an organisation, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from api.contacts.channels import channel_problem, phone_problem
from api.types import NOT_BLANK, ClockTime, Phone

ROLES: Final = (
    "resident", "guardian", "family", "grid_worker", "village_cadre", "neighbour", "key_holder",
    "duty_desk", "supervisor", "maintainer", "installer",
)  # fmt: skip
Role = Literal[
    "resident", "guardian", "family", "grid_worker", "village_cadre", "neighbour", "key_holder",
    "duty_desk", "supervisor", "maintainer", "installer",
]  # fmt: skip
Locale = Literal["zh-CN", "en"]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK)
]


def _check_channels(urls: list[str] | None) -> list[str] | None:
    if urls is None:
        return None
    for index, url in enumerate(urls):
        _refuse(index, channel_problem(url.strip()))
    return [u.strip() for u in urls]


def _refuse(index: int, problem: str | None) -> None:
    """A field-level error naming the channel (渠道 1 / channel 1) and what is wrong with it."""
    if problem:
        raise PydanticCustomError(
            "channel", "渠道 {n} / channel {n}: {problem}", {"n": index + 1, "problem": problem}
        )


class ContactCreate(BaseModel):
    """A contact of a site (family, neighbour, key holder) or an organisation (grid worker)."""

    model_config = ConfigDict(extra="forbid")

    site_id: int | None = None
    org_id: int | None = None
    name: Name
    role: Role
    priority: int = Field(1, ge=1, le=99)
    phone: Phone | None = None
    channels: list[str] = Field(default_factory=list, max_length=10)
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    locale: Locale = "zh-CN"
    active: bool = True

    _channels = field_validator("channels")(_check_channels)

    @model_validator(mode="after")
    def _one_owner(self) -> ContactCreate:
        if (self.site_id is None) == (self.org_id is None):
            raise ValueError("give exactly one of site_id and org_id")
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet hours need both a start and an end")
        return self


class ContactUpdate(BaseModel):
    """Fields to change. A channel sent back in its masked form keeps the stored secret."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    role: Role | None = None
    priority: int | None = Field(None, ge=1, le=99)
    phone: Phone | None = None
    channels: list[str] | None = Field(None, max_length=10)
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    locale: Locale | None = None
    active: bool | None = None

    @field_validator("channels")
    @classmethod
    def _channels_parse(cls, urls: list[str] | None) -> list[str] | None:
        # Masked URLs (from a read) are resolved against the stored ones by the service; the
        # numbers an SMS or voice URL calls are not masked, and are checked here either way.
        if urls is None:
            return None
        for index, url in enumerate(urls):
            _refuse(index, phone_problem(url.strip()))
        return [u.strip() for u in urls]

    @model_validator(mode="after")
    def _not_cleared(self) -> ContactUpdate:
        for required in ("name", "role", "priority", "locale", "active", "channels"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be cleared")
        return self


class ContactRead(BaseModel):
    """A contact as read back; channels masked and phones hidden where the role asks for it."""

    id: int
    site_id: int | None
    org_id: int | None
    name: str
    role: str
    priority: int
    phone: str | None
    channels: list[str]
    quiet_hours_start: ClockTime | None
    quiet_hours_end: ClockTime | None
    locale: str
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ContactRead:
        return cls(**row)
