"""Settings of the ingest service (``SMOKEWATCH_INGEST_*`` and the common ones)."""

from __future__ import annotations

import socket
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from core.codecs.registry import CodecConfig, CodecName
from core.codecs.thing_model import PropertyMap, property_maps
from core.config import CommonSettings
from core.errors import ConfigurationError
from ingest.commands.ctwing import CtwingConfig
from ingest.commands.onenet import OnenetConfig


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
    # How often ingest writes its service_heartbeats row (0 turns it off).
    ingest_heartbeat_s: float = Field(default=5.0, ge=0, le=60)
    ingest_readings_keep_days: int = Field(default=400, ge=400)
    ingest_events_keep_days: int = Field(default=1100, ge=366)

    # Vendor formats (issue 6). MQTT codecs get their own lane (subscriptions and writer), so
    # they never slow the native lanes; HTTP push arrives through the API's inbox table.
    ingest_codecs: tuple[CodecName, ...] = ("zigbee2mqtt", "chirpstack", "ctwing", "onenet")
    zigbee2mqtt_base_topic: str = "zigbee2mqtt"
    chirpstack_topic_prefix: str = "application"
    # OneNET's push token (the "token" of the HTTP push configuration): checks signatures.
    onenet_token: SecretStr | None = None
    # Products whose thing model names properties differently: product id -> {field: [names]},
    # field being a PropertyMap field (alarm, tamper, battery_pct, ...); JSON in the environment,
    # e.g. SMOKEWATCH_CTWING_PROPERTY_MAPS='{"15045240": {"alarm": ["yg_state"]}}'.
    ctwing_property_maps: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    onenet_property_maps: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # How often the push inbox is polled when no NOTIFY arrives (the backstop).
    ingest_push_poll_s: float = Field(default=2.0, gt=0, le=60)
    ingest_push_batch: int = Field(default=200, ge=1, le=5000)
    # Home Assistant MQTT discovery (opt in: add "homeassistant" to SMOKEWATCH_INGEST_CODECS).
    homeassistant_discovery_prefix: str = "homeassistant"
    homeassistant_state_topics: tuple[str, ...] = ("+/binary_sensor/+/state", "+/sensor/+/state")
    # Device commands (issue 19, ingest/commands/): the dispatcher's poll (retries, expiry) and
    # the ChirpStack application whose command/down topic reaches the LoRaWAN detectors.
    ingest_commands: bool = True
    ingest_commands_poll_s: float = Field(default=1.0, gt=0, le=60)
    chirpstack_application_id: str | None = None
    # CTWing AEP command delivery (ingest/commands/ctwing.py): the API's base URL (the
    # programme's AEP endpoint), the application's key and secret, the product's MasterKey and
    # id, and the product's service per command kind, e.g. SMOKEWATCH_CTWING_COMMANDS=
    # '{"silence": {"serviceIdentifier": "cmd", "params": {"muffling": 0}}}'.
    ctwing_command_url: str | None = None
    ctwing_app_key: str | None = None
    ctwing_app_secret: SecretStr | None = None
    ctwing_master_key: SecretStr | None = None
    ctwing_product_id: int | None = None
    ctwing_commands: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # OneNET property set (ingest/commands/onenet.py): API base URL, project, the token's
    # resource (userid/<id> or projectid/<id>/groupid/<id>) and access key, and the product's
    # properties per command kind, e.g. '{"silence": {"params": {"silence": true}}}'.
    onenet_api_url: str | None = None
    onenet_project_id: str | None = None
    onenet_api_res: str | None = None
    onenet_access_key: SecretStr | None = None
    onenet_commands: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("onenet_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        # docker-compose passes an unset variable as an empty string.
        return None if value == "" else value

    @model_validator(mode="after")
    def _onenet_needs_token(self) -> IngestSettings:
        missing = "onenet" in self.ingest_codecs and self.onenet_token is None
        if missing and self.environment == "production":
            raise ConfigurationError(
                "SMOKEWATCH_ONENET_TOKEN is required in production when the onenet codec is "
                "enabled (or leave onenet out of SMOKEWATCH_INGEST_CODECS)"
            )
        return self

    def ctwing_command_config(self) -> CtwingConfig | None:
        """CTWing command delivery, when every part of it is configured."""
        parts = (self.ctwing_command_url, self.ctwing_app_key, self.ctwing_app_secret,
                 self.ctwing_master_key, self.ctwing_product_id)  # fmt: skip
        if any(part is None for part in parts):
            return None
        assert self.ctwing_app_secret is not None and self.ctwing_master_key is not None
        return CtwingConfig(
            url=str(self.ctwing_command_url),
            app_key=str(self.ctwing_app_key),
            app_secret=self.ctwing_app_secret.get_secret_value(),
            master_key=self.ctwing_master_key.get_secret_value(),
            product_id=int(self.ctwing_product_id or 0),
            services=self.ctwing_commands,
        )

    def onenet_command_config(self) -> OnenetConfig | None:
        """OneNET command delivery, when every part of it is configured."""
        if not (self.onenet_api_url and self.onenet_project_id and self.onenet_api_res
                and self.onenet_access_key):  # fmt: skip
            return None
        return OnenetConfig(
            url=self.onenet_api_url,
            project_id=self.onenet_project_id,
            res=self.onenet_api_res,
            access_key=self.onenet_access_key.get_secret_value(),
            properties=self.onenet_commands,
        )

    def codec_config(self) -> CodecConfig:
        """What the codecs need from these settings."""
        token = self.onenet_token.get_secret_value() if self.onenet_token else None
        return CodecConfig(
            zigbee2mqtt_base_topic=self.zigbee2mqtt_base_topic.strip("/"),
            chirpstack_topic_prefix=self.chirpstack_topic_prefix.strip("/"),
            onenet_token=token,
            # Without a token, development accepts unsigned pushes; test and production check
            # and refuse them (dead letter "no_token") rather than trust unsigned data.
            onenet_verify=token is not None or self.environment != "development",
            max_bytes=self.ingest_max_payload_bytes,
            ctwing_property_maps=_maps(self.ctwing_property_maps),
            onenet_property_maps=_maps(self.onenet_property_maps),
            homeassistant_discovery_prefix=self.homeassistant_discovery_prefix.strip("/"),
            homeassistant_state_topics=self.homeassistant_state_topics,
        )

    @field_validator("ctwing_property_maps", "onenet_property_maps")
    @classmethod
    def _known_fields(
        cls, value: dict[str, dict[str, list[str]]]
    ) -> dict[str, dict[str, list[str]]]:
        _maps(value)  # fail at start-up on an unknown field name
        return value


def _maps(raw: dict[str, dict[str, list[str]]]) -> dict[str, PropertyMap]:
    """Named fields replace the defaults' names for that field; the others keep the defaults."""
    return property_maps(raw)
