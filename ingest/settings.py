"""Settings of the ingest service (``SMOKEWATCH_INGEST_*`` and the common ones)."""

from __future__ import annotations

import socket

from pydantic import Field

from core.config import CommonSettings


def _default_client_id() -> str:
    return f"smokewatch-ingest-{socket.gethostname()}"


class IngestSettings(CommonSettings):
    """One instance per ingest process."""

    ingest_client_id: str = Field(default_factory=_default_client_id)
    # Set a group name to share the load between workers ($share/<group>/...).
    ingest_shared_group: str | None = None
    ingest_max_payload_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
    ingest_batch_max: int = Field(default=2000, ge=1, le=50_000)
    ingest_batch_window_ms: int = Field(default=100, ge=1, le=5_000)
    # Unacknowledged messages the broker may have in flight per lane (MQTT 5 Receive Maximum).
    # This is also the back-pressure bound: with the database down nothing is acked, so the
    # broker stops sending once this many are in flight.
    ingest_receive_maximum: int = Field(default=20_000, ge=10, le=65_535)
    ingest_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    ingest_metrics_port: int = Field(default=9101, ge=0, le=65_535)
    ingest_retention_interval_s: int = Field(default=3600, ge=60)
    ingest_readings_keep_days: int = Field(default=400, ge=400)
    ingest_events_keep_days: int = Field(default=1100, ge=366)
