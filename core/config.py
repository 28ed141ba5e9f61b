"""Settings shared by every service, read once from ``SMOKEWATCH_*`` variables and ``.env``.

Each service subclasses :class:`CommonSettings` with its own fields and builds exactly one
instance at start-up; nothing else in the code base reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigurationError

Environment = Literal["development", "test", "production"]


class CommonSettings(BaseSettings):
    """Connection and logging settings every service needs."""

    model_config = SettingsConfigDict(
        env_prefix="SMOKEWATCH_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Environment = "development"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/smokewatch"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    topic_prefix: str = "smokewatch/v1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Appended to every service's MQTT client id: random per deployment (``openssl rand -hex
    # 8``), so that the ids cannot be guessed from the source (issue 15).
    mqtt_client_suffix: str = Field(default="", pattern=r"^[A-Za-z0-9]{0,32}$")
    # The broker binds every account to one client id (core/broker_auth.py): each connection
    # then logs in with its client id as user name and the password of SMOKEWATCH_MQTT_URL.
    mqtt_account_per_client: bool = False

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if not value.startswith("postgresql://"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parse_mqtt_url(value)
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(ch in value for ch in "+#\x00"):
            raise ValueError("must be a non-empty topic without wildcards")
        return value

    @property
    def mqtt(self) -> MqttEndpoint:
        """The broker URL, parsed."""
        return parse_mqtt_url(self.mqtt_url)

    def mqtt_for(self, client_id: str) -> MqttEndpoint:
        """The endpoint one connection uses: its own account when accounts are per client id."""
        endpoint = self.mqtt
        if self.mqtt_account_per_client and endpoint.username:
            return replace(endpoint, username=client_id)
        return endpoint


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """Where and how to reach the MQTT broker."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never print the password
        user = f"{self.username}:***@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"MqttEndpoint({scheme}://{user}{self.host}:{self.port})"


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Parse ``mqtt://user:pass@host:port`` or ``mqtts://...`` into an endpoint."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ConfigurationError(f"unsupported MQTT URL scheme {parts.scheme!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ConfigurationError("the MQTT URL has no host")
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
