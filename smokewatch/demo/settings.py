"""Settings of the demo and of its helper processes (``SMOKEWATCH_DEMO_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from core.config import CommonSettings


class DemoSettings(CommonSettings):
    """One instance per demo process; the orchestrator passes values to children by env."""

    demo_dir: Path = Path(".smokewatch/demo")
    demo_inbox_port: int = Field(default=8765, ge=0, le=65535)
    # Shared with alerting (SMOKEWATCH_ACK_SECRET): the inbox verifies the links it signs.
    ack_secret: SecretStr = SecretStr("development-only-secret")
    # The storyline: "full" paces it for people watching, "short" for tests.
    demo_story: str = Field(default="full", pattern="^(full|short|off)$")
    demo_run_id: str = ""
    demo_alerting: bool = False  # whether an alert engine runs (the director acts only then)
    # Set by smokewatch.demo.detach in the orchestrator it starts in a new session.
    demo_detached: bool = False
    # Where the emulated providers push receipts, keypresses and replies (the demo's API), and
    # the token the API expects (SMOKEWATCH_CALLBACK_TOKEN, shared).
    demo_api_url: str = ""
    callback_token: SecretStr | None = None
    demo_life_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    def database_configured(self) -> bool:
        """True when SMOKEWATCH_DATABASE_URL (or .env) names a real database."""
        return "database_url" in self.model_fields_set

    def mqtt_configured(self) -> bool:
        """True when SMOKEWATCH_MQTT_URL (or .env) names a real broker."""
        return "mqtt_url" in self.model_fields_set
