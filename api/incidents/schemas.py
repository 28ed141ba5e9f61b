"""Incident shapes of the API contract (docs/api.md): list items, the timeline, the actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from core.incidents import FalseAlarmCause, Outcome

IncidentStatusFilter = Literal[
    "open", "triggered", "acknowledged", "in_progress", "reported", "resolved"
]
IncidentKind = Literal["fire", "heat", "tamper"]
IncidentSort = Literal[
    "opened_at", "-opened_at", "last_event_at", "-last_event_at", "priority", "-priority"
]


class PersonRef(BaseModel):
    """A contact by id and name."""

    id: int
    name: str


class PlaceRef(BaseModel):
    """An organisation (the village) by id and name."""

    id: int
    name: str


class DeviceRef(BaseModel):
    """Where in the home the detector hangs."""

    id: str
    room: str | None
    position: str | None


class SiteRef(BaseModel):
    """The household or venue as the operator's screen needs it."""

    id: int
    name: str
    kind: str
    category: str
    address: str
    resident_name: str | None
    resident_situation: list[str]
    latitude: float | None
    longitude: float | None


class Paged(BaseModel):
    """One page (or re-page) planned or sent to a person."""

    contact_id: int | None
    name: str | None
    role: str | None
    channel: str  # sms, voice, wechat, chat or webhook (never a provider's scheme)
    status: str
    at: datetime
    # How far it got: sent, reached (delivered to the handset, call answered), not_reached,
    # acknowledged; else the page's status (pending, sending, failed, cancelled).
    reach: str = "sent"


class FieldAnswer(BaseModel):
    """The first link-holder who answered ("on my way"): name, role, when."""

    name: str | None
    role: str | None
    at: datetime


class FieldReport(BaseModel):
    """What a link-holder found, awaiting the centre's review (status ``reported``)."""

    outcome: str
    false_alarm_cause: str | None
    note: str | None
    at: datetime
    name: str | None
    role: str | None


class IncidentRead(BaseModel):
    """An incident with its device, site, village, who was paged and who answered.

    ``centre_acknowledged_at`` is the operator's acknowledgement (the board's siren stops);
    ``field_answer`` who in the field answered; ``report`` what they found."""

    id: int
    kind: str
    status: str
    priority: int
    opened_at: datetime
    last_event_at: datetime
    event_count: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assigned_to: PersonRef | None
    outcome: str | None
    false_alarm_cause: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    device: DeviceRef
    site: SiteRef
    village: PlaceRef | None
    paged: list[Paged]
    answered_by: str | None
    centre_acknowledged_at: datetime | None = None
    centre_acknowledged_by: str | None = None
    field_answer: FieldAnswer | None = None
    report: FieldReport | None = None


class TimelineEntry(BaseModel):
    """One audit-log row: opened, event joined, delivered, acknowledged, resolved..."""

    at: datetime
    action: str
    actor: str | None
    contact_id: int | None
    detail: dict[str, Any] | None


class Attempt(BaseModel):
    """One delivery attempt on one channel with the provider's answer."""

    at: datetime
    contact: str | None
    channel: str  # sms, voice, wechat, chat or webhook
    scheme: str  # the Apprise scheme (aliyunsms, json...), for the detail
    ok: bool
    answer: str | None
    # Additive, for a readable table: who the person is, which wave and round, the outcome
    # code (delivered, failed, timeout, unsupported, rate_limited) and how long it took.
    role: str | None = None
    wave: int | None = None
    round: int | None = None
    purpose: str | None = None
    outcome: str | None = None
    elapsed_ms: int | None = None
    reach: str | None = None  # reached / not_reached by the provider's receipt
    reach_detail: str | None = None  # the provider's own words for the receipt
    acknowledged: bool = False  # pressed 1 / replied 1 on this attempt


class IncidentDetail(IncidentRead):
    """An incident with its full timeline and every delivery attempt."""

    timeline: list[TimelineEntry]
    attempts: list[Attempt]


class IncidentAcknowledge(BaseModel):
    """Body of POST /incidents/{id}/acknowledge."""

    note: str | None = Field(default=None, max_length=2000)


class IncidentAssign(BaseModel):
    """Body of POST /incidents/{id}/assign; ``contact_id`` null takes the assignment back."""

    contact_id: int | None
    note: str | None = Field(default=None, max_length=2000)


class IncidentResolve(BaseModel):
    """Body of POST /incidents/{id}/resolve: the outcome is mandatory, a false alarm's cause too."""

    outcome: Outcome
    false_alarm_cause: FalseAlarmCause | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _cause_for_false_alarm(self) -> IncidentResolve:
        if self.outcome == Outcome.FALSE_ALARM and self.false_alarm_cause is None:
            raise ValueError("a false alarm needs false_alarm_cause")
        return self


class IncidentNote(BaseModel):
    """Body of POST /incidents/{id}/note."""

    note: str = Field(min_length=1, max_length=2000)
