"""The administrative hierarchy and its escalation overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Level = Literal["city", "district", "sub_district", "village", "community", "grid"]
ContactRole = Literal[
    "resident", "guardian", "family", "grid_worker", "village_cadre",
    "neighbour", "key_holder", "duty_desk", "supervisor", "maintainer", "installer",
]  # fmt: skip
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class OrganisationCreate(BaseModel):
    """A new organisation under ``parent_id`` (a root only for an unscoped administrator)."""

    model_config = ConfigDict(extra="forbid")

    parent_id: int | None = Field(default=None, ge=1)
    level: Level
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)


class OrganisationUpdate(BaseModel):
    """Renaming; organisations are not moved (their subtree's paths would change)."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, pattern=CODE_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)


class OrganisationRead(BaseModel):
    """One organisation."""

    id: int
    parent_id: int | None
    level: Level
    code: str
    name: str
    name_en: str | None
    path: str
    created_at: datetime


class OrganisationNode(OrganisationRead):
    """An organisation with its children, as in the tree."""

    children: list[OrganisationNode] = Field(default_factory=list)


class EscalationOverride(BaseModel):
    """Keys of alerting.policy.EscalationPolicy to override; missing keys keep the inherited
    value (site, then the nearest organisation up the path, then the built-in defaults)."""

    model_config = ConfigDict(extra="forbid")

    wave_roles: list[list[ContactRole]] | None = Field(default=None, min_length=1, max_length=6)
    wave_delays_s: list[float] | None = Field(default=None, min_length=1, max_length=6)
    repeat_last: int | None = Field(default=None, ge=0, le=20)
    repeat_every_s: float | None = Field(default=None, gt=0, le=86_400)
    repage_after_s: float | None = Field(default=None, gt=0, le=7 * 86_400)
    max_repages: int | None = Field(default=None, ge=0, le=20)
    tamper_same_day_call: bool | None = None
    # Paging until answered (docs/alerting.md): gaps between rounds (the last repeats), an
    # explicit cap on rounds, the centre's supervisors and when they are paged, and which
    # incident kinds tell everyone paged who answered and how it ended.
    repeat_intervals_s: list[float] | None = Field(default=None, min_length=1, max_length=6)
    max_rounds: int | None = Field(default=None, ge=0, le=1000)
    supervisor_roles: list[ContactRole] | None = Field(default=None, max_length=4)
    supervisor_after_s: float | None = Field(default=None, gt=0, le=86_400)
    max_escalations: int | None = Field(default=None, ge=0, le=1000)
    answer_notices: list[Literal["fire", "heat", "tamper"]] | None = None

    @model_validator(mode="after")
    def _delays(self) -> EscalationOverride:
        if self.wave_delays_s is not None and any(d < 0 or d > 86_400 for d in self.wave_delays_s):
            raise ValueError("wave delays must be between 0 and 86400 seconds")
        if self.repeat_intervals_s is not None and any(
            d < 60 or d > 86_400 for d in self.repeat_intervals_s
        ):
            raise ValueError("repeat intervals must be between 60 and 86400 seconds")
        if (
            self.wave_roles is not None
            and self.wave_delays_s is not None
            and len(self.wave_delays_s) < len(self.wave_roles)
        ):
            raise ValueError("every wave needs a delay")
        if self.wave_roles is not None and self.wave_delays_s is None and len(self.wave_roles) > 3:
            raise ValueError("more than the 3 default waves needs wave_delays_s")
        return self


class EscalationRead(BaseModel):
    """The override stored for one organisation (empty: it inherits everything)."""

    org_id: int
    config: EscalationOverride
    updated_at: datetime | None
