"""Settings of ``smokewatch sim``: where to publish and how the default fleet looks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.config import CommonSettings


class SimSettings(CommonSettings):
    """Simulator settings (``SMOKEWATCH_SIM_*``); per-run choices live in ``SimOptions``."""

    # The Nanzhang programme: 283 households and 131 small venues.
    sim_households: int = Field(283, ge=0, le=1_000_000)
    sim_venues: int = Field(131, ge=0, le=1_000_000)
    sim_id_prefix: str = Field("NZ", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$")
    # One report per simulated hour, as the reference model's heartbeat_period.
    sim_heartbeat_seconds: float = Field(3600.0, ge=0)
    sim_time_scale: float = Field(1.0, gt=0, le=1_000_000)
    sim_connections: Literal["shared", "per_device"] = "shared"
    sim_client_id: str = Field("smokewatch-sim", min_length=1, max_length=40)
    # paho's default of 20 messages in flight caps a loopback publisher at a few thousand/s.
    sim_max_inflight: int = Field(1000, ge=1, le=60_000)
    sim_ack_timeout_seconds: float = Field(30.0, gt=0)
    sim_seed: int = 0
