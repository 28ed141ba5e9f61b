"""Settings of the alert engine (``SMOKEWATCH_*``), read once at start-up."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr, field_validator, model_validator

from core.config import CommonSettings
from core.incidents.tokens import check_ack_secret


class AlertingSettings(CommonSettings):
    """How the alert engine escalates, delivers and watches itself."""

    # Acknowledge links: base URL served by the API, HMAC secret, lifetime.
    ack_base_url: str = "http://127.0.0.1:8000/a/"
    ack_secret: SecretStr = SecretStr("development-only-secret")
    ack_ttl_s: int = Field(default=72 * 3600, gt=60)

    # Escalation defaults (field practice); per site or village overrides live in the database.
    alerting_wave2_after_s: float = Field(default=120.0, ge=0)
    alerting_wave3_after_s: float = Field(default=300.0, ge=0)
    # Quick repeats of the last wave planned with the waves (off by default: the rounds below
    # already repeat wave 1, the last wave and the duty desk until someone answers).
    alerting_repeat_last: int = Field(default=0, ge=0, le=20)
    alerting_repeat_every_s: float = Field(default=300.0, gt=0)
    # Rounds while nobody answered a fire: growing gaps, the last repeating until answered.
    alerting_repeat_intervals_s: list[float] = Field(
        default_factory=lambda: [300.0, 600.0, 900.0], min_length=1
    )
    # The centre's supervisors are paged when no operator acknowledged after this long.
    alerting_supervisor_after_s: float = Field(default=600.0, gt=0)
    alerting_repage_after_s: float = Field(default=1800.0, gt=0)
    alerting_max_repages: int = Field(default=3, ge=0, le=20)
    alerting_tamper_same_day_call: bool = True

    # Delivery (docs/alerting.md, "Delivery in steps").
    # Concurrent sends. A send is one attempt and holds its thread only for the request itself
    # (bounded by the timeout), never for a backoff; threads waiting on a socket are cheap.
    # 64: a storm's pages mostly go to one SMS gateway, which may hold alerting_host_share of
    # the senders; at 32 that half (16 sends in flight) capped a 10,000-household storm at
    # about 290 pages/s, at 64 it reached every first page in 28 s; 128 was slower again (the
    # threads contend for the GIL) (docs/benchmarks.md).
    alerting_workers: int = Field(default=64, ge=1, le=256)
    alerting_request_timeout_s: float = Field(default=5.0, gt=0, le=60)
    alerting_attempts_per_channel: int = Field(default=3, ge=1, le=10)
    alerting_backoff_s: float = Field(default=0.5, ge=0)
    # Short, renewed by a heartbeat every third of it while a send is in flight: a dead
    # worker's rows come back within one lease.
    alerting_lease_s: float = Field(default=10.0, gt=1)
    # Largest share of the senders one destination host may hold while it answers well.
    alerting_host_share: float = Field(default=0.5, gt=0, le=1)
    # Destinations not known to answer well (new, failing, or a send running longer than
    # alerting_slow_send_s) share at most this part of the senders, at most
    # alerting_unproven_host_sends each: hanging providers never take every sender.
    alerting_unproven_share: float = Field(default=0.5, gt=0, le=1)
    alerting_unproven_host_sends: int = Field(default=2, ge=1)
    alerting_slow_send_s: float = Field(default=1.0, gt=0)
    # Steps claimed ahead, waiting in the worker for a host that answers well to have room
    # under its share: a finished send starts the next at once instead of waiting for the
    # next claim (about 50 ms in a storm, as long as a send), which left a third of a
    # gateway's share idle (docs/benchmarks.md). They are leased and renewed like sends in
    # flight, and handed back at once when the worker stops. 0: claim only for free senders.
    alerting_claim_ahead: int = Field(default=32, ge=0, le=1024)
    # Senders kept free for fire pages (a share of alerting_workers): digests, tamper calls
    # and re-pages never take the last ones.
    alerting_fire_reserve: float = Field(default=0.25, ge=0, lt=1)
    alerting_poll_interval_s: float = Field(default=2.0, gt=0)
    # Our own per-destination limits, per minute, by URL scheme (fire alarms ignore them).
    alerting_rate_limits: dict[str, int] = Field(
        default_factory=lambda: {"wecombot": 20, "dingtalk": 20, "feishu": 100}
    )
    alerting_locale: str = "zh-CN"

    # Quiet hours for low-priority messages (local time) and digests.
    timezone: str = "Asia/Shanghai"
    alerting_quiet_start: time = time(21, 0)
    alerting_quiet_end: time = time(7, 30)
    # Local time of the daily maintainer digest; empty turns the daily run off (on demand only).
    alerting_digest_at: time | None = time(8, 30)
    alerting_digest_at_night: bool = False

    # Self-watch: page the monitoring centre when these are crossed.
    alerting_metrics_port: int = Field(default=9102, ge=0, le=65535)
    alerting_watch_interval_s: float = Field(default=30.0, gt=0)
    alerting_backlog_threshold: int = Field(default=50, ge=1)
    alerting_backlog_age_threshold_s: float = Field(default=60.0, gt=0)
    alerting_failure_rate_threshold: float = Field(default=0.5, gt=0, le=1)
    alerting_failure_window_s: float = Field(default=300.0, gt=0)
    alerting_monitoring_urls: list[str] = Field(default_factory=list)

    # Device health (docs/health.md): the offline watchdog and its periodic jobs.
    alerting_watchdog_enabled: bool = True
    alerting_watchdog_interval_s: float = Field(default=5.0, gt=0, le=30)
    alerting_watchdog_batch: int = Field(default=500, ge=1, le=10000)
    # Ingest is down when no connected instance wrote its heartbeat for this long.
    alerting_ingest_stale_s: float = Field(default=30.0, gt=0)
    # The whole system is silent when no message at all arrived for this long; set it well
    # above the fleet's usual gap between two messages (seconds at city scale).
    alerting_system_silence_s: float = Field(default=1800.0, gt=0)
    # A gateway or village is one outage when at least this many of its devices exist and
    # at most this fraction of them spoke within their own heartbeat period.
    alerting_outage_min_devices: int = Field(default=5, ge=2)
    alerting_outage_alive_fraction: float = Field(default=0.1, ge=0, lt=1)
    alerting_village_health_every_s: float = Field(default=60.0, gt=0)
    alerting_maintenance_every_s: float = Field(default=300.0, gt=0)
    # Toggles (online/offline or alarm/clear events) in 24 h that make a device "flapping".
    alerting_flap_threshold: int = Field(default=6, ge=2)

    # Event processing (issue 22: alarm storms): threads per process claiming batches of up
    # to this many events per transaction (fire first, one event per device per batch).
    alerting_event_processors: int = Field(default=2, ge=1, le=16)
    alerting_event_batch: int = Field(default=100, ge=1, le=1000)

    alerting_worker_name: str = ""

    @field_validator("ack_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("alerting_repeat_intervals_s")
    @classmethod
    def _gaps(cls, value: list[float]) -> list[float]:
        if any(gap <= 0 for gap in value):
            raise ValueError("every gap must be positive")
        return value

    @field_validator("alerting_digest_at", mode="before")
    @classmethod
    def _digest_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none"):
            return None
        return value

    @field_validator("alerting_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in ("zh-CN", "en"):
            raise ValueError("must be zh-CN or en")
        return value

    @model_validator(mode="after")
    def _secret(self) -> AlertingSettings:
        check_ack_secret(self.ack_secret.get_secret_value(), self.environment)
        return self
