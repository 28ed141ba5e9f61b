"""Readings and device status shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Bucket = Literal["raw", "1m", "5m", "15m", "1h", "6h", "1d"]


class ReadingRead(BaseModel):
    """One telemetry sample as the detector sent it."""

    ts: datetime
    smoke_obscuration: float | None
    temperature_c: float | None
    battery_pct: float | None
    battery_mv: int | None
    signal_dbm: int | None


class BucketRead(BaseModel):
    """Telemetry aggregated over one bucket."""

    bucket: datetime
    samples: int
    smoke_avg: float | None
    smoke_max: float | None
    temperature_avg: float | None
    temperature_max: float | None
    battery_pct_min: float | None
    battery_mv_min: int | None
    signal_avg: float | None


class ReadingSeries(BaseModel):
    """One device's readings over [since, until): raw samples or buckets."""

    device_id: str
    since: datetime
    until: datetime
    bucket: Bucket
    readings: list[ReadingRead] | None = None
    buckets: list[BucketRead] | None = None


class DeviceStatusRead(BaseModel):
    """What we know of a device now (from device_state, kept current by ingest)."""

    device_id: str
    status: str
    site_id: int | None
    room: str | None
    position: str | None
    model_code: str
    online: bool | None
    last_seen: datetime | None
    offline_deadline: datetime | None
    last_reading_at: datetime | None
    battery_pct: float | None
    battery_mv: int | None
    signal_dbm: int | None
    temperature_c: float | None
    smoke_obscuration: float | None
    firmware: str | None
    last_event_at: datetime | None
    last_event_type: str | None
    alarm_active: bool | None
    tamper_active: bool | None
    fault_active: bool | None
    battery_low: bool | None
