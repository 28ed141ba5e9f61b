"""Shift handover log shapes: what the outgoing operator writes, what the next one reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class HandoverCreate(BaseModel):
    """Body of POST /api/v1/handovers."""

    model_config = ConfigDict(extra="forbid")

    note: Note


class HandoverRead(BaseModel):
    """One entry: when, who, what, and how many incidents were open then."""

    id: int
    at: datetime
    author: str
    note: str
    open_incidents: int
