"""Command shapes: the request, the command as stored, and what a model can take."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

CommandKind = Literal["silence", "self_test", "set_heartbeat", "reset"]
CommandState = Literal["requested", "sent", "acknowledged", "failed", "expired"]
SuspectedCause = Literal["cooking", "smoking", "steam", "dust", "insects", "other"]


class CommandCreate(BaseModel):
    """Ask a detector to do something. A silence names its incident and the suspected
    nuisance cause (recorded in the incident's log); a heartbeat setting gives interval_s."""

    kind: CommandKind
    parameters: dict[str, Any] = Field(default_factory=dict)
    incident_id: int | None = None
    suspected_cause: SuspectedCause | None = None
    reason: str | None = Field(default=None, max_length=500)


class RelativeSilence(BaseModel):
    """A relative's silence request: the confirmation step is ``confirmed: true``."""

    suspected_cause: SuspectedCause = "cooking"
    confirmed: bool = False
    incident_id: int | None = None


class CommandRead(BaseModel):
    """A command and where it stands."""

    id: int
    device_id: str
    kind: CommandKind
    parameters: dict[str, Any]
    transport: str
    incident_id: int | None
    requested_by: str
    requested_role: str
    reason: str | None
    state: CommandState
    requested_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    attempts: int
    acknowledged_at: datetime | None
    finished_at: datetime | None
    result: str | None


class KindSupport(BaseModel):
    """Whether the model takes one kind, and if not, why not."""

    kind: CommandKind
    supported: bool
    rearm_s: int | None = None  # silence only: the detector re-arms by itself after this long
    why_not: str | None = None


class CommandSupport(BaseModel):
    """What a device's model can take, with its latest commands."""

    device_id: str
    model_code: str
    transport: str
    source: str
    kinds: list[KindSupport]
    items: list[CommandRead]
