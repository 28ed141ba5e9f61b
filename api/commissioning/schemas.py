"""Commissioning: start a test, then poll its report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["waiting", "passed", "failed", "expired"]


class CommissioningCreate(BaseModel):
    """Start a test at ``site_id`` (default: where the device is bound), ``timeout_s`` to wait."""

    model_config = ConfigDict(extra="forbid")

    site_id: int | None = None
    timeout_s: float = Field(120.0, ge=2.0, le=900.0)


class CheckRead(BaseModel):
    name: str
    ok: bool | None
    message_zh: str
    message_en: str


class TestEvent(BaseModel):
    """The test event and the values measured with it (or the latest report before it)."""

    id: int
    ts: datetime
    received_at: datetime
    signal_dbm: int | None
    battery_pct: float | None
    readings_from: Literal["event", "latest_report", "none"]


class CommissioningRead(BaseModel):
    id: int
    device_id: str
    site_id: int | None
    started_at: datetime
    expires_at: datetime
    started_by: str | None
    state: State
    finished_at: datetime | None
    summary_zh: str
    summary_en: str
    checks: list[CheckRead]
    event: TestEvent | None
