"""Devices: detectors, their identities on other networks, binding and live state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.types import NOT_BLANK
from core.codecs.identity import normalise
from core.domain import DEVICE_ID_PATTERN

DeviceId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=DEVICE_ID_PATTERN.pattern)
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK)
]
ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
Health = Literal["alarm", "tamper", "fault", "offline", "low_battery", "never_seen", "ok"]
HEALTH_FILTERS = (
    "alarm",
    "tamper",
    "fault",
    "offline",
    "low_battery",
    "never_seen",
    "online",
    "ok",
)
Status = Literal["registered", "installed", "in_service", "faulty", "removed"]


IdentityCodec = Literal["native", "zigbee2mqtt", "chirpstack", "ctwing", "onenet", "homeassistant"]


class Identity(BaseModel):
    """The device's id on another network: zigbee2mqtt friendly name, devEui, CTWing deviceId."""

    model_config = ConfigDict(extra="forbid")

    codec: IdentityCodec
    external_id: ExternalId

    @model_validator(mode="after")
    def _canonical(self) -> Identity:
        # One spelling on registration and lookup (labels print devEuis in upper case).
        self.external_id = normalise(self.codec, self.external_id)
        return self


class IdentityUpdate(BaseModel):
    """A corrected identity for one codec (a mistyped devEui, a renamed zigbee2mqtt device)."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeviceCreate(BaseModel):
    """Register a detector (before or at installation); its MQTT secret is returned once."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    id: DeviceId
    model_code: Short
    identities: list[Identity] = Field(default_factory=list, max_length=5)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class BindingUpdate(BaseModel):
    """Where the detector hangs: site, room, position on the ceiling, installer's notes."""

    model_config = ConfigDict(extra="forbid")

    site_id: int
    room: Short
    position: Short | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    # A detector bound to another site moves only when the caller says so: binding it silently
    # would leave that household without its detector.
    move: bool = False


class DeviceReplace(BaseModel):
    """Put ``new_id`` where this detector is; register it first when ``model_code`` is given."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    new_id: DeviceId
    model_code: Short | None = None
    identities: list[Identity] = Field(default_factory=list, max_length=5)
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeviceRemove(BaseModel):
    """Why a detector is taken out of service."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class MqttCredentials(BaseModel):
    """Shown once: only a hash of the password is stored."""

    username: str
    password: str


class DeviceState(BaseModel):
    online: bool | None = None
    connection: str | None = None
    last_seen: datetime | None = None
    offline_deadline: datetime | None = None
    battery_pct: float | None = None
    battery_mv: int | None = None
    battery_low: bool | None = None
    signal_dbm: int | None = None
    temperature_c: float | None = None
    alarm_active: bool | None = None
    tamper_active: bool | None = None
    fault_active: bool | None = None
    last_event_at: datetime | None = None
    last_event_type: str | None = None
    firmware: str | None = None


class SiteRef(BaseModel):
    id: int
    name: str
    address: str


class DeviceRead(BaseModel):
    """A detector with its model, place, commissioning record and current state."""

    model_config = ConfigDict(protected_namespaces=())

    id: str
    model_code: str
    model_name: str | None = None
    codec: str | None = None
    site_id: int | None
    site: SiteRef | None = None
    room: str | None
    position: str | None
    status: Status
    health: Health
    installed_at: datetime | None
    installed_by: str | None
    commissioned_at: datetime | None
    commissioning: dict[str, Any] | None
    replaces: str | None
    replaced_by: str | None = None
    notes: str | None
    identities: list[Identity] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None
    state: DeviceState

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeviceRead:
        state = DeviceState.model_validate({k: row.get(k) for k in DeviceState.model_fields})
        site = None
        if row.get("site_name") is not None:
            site = SiteRef(id=row["site_id"], name=row["site_name"], address=row["site_address"])
        # Stored rows are shown as stored (one registered before normalisation may be malformed).
        identities = [Identity.model_construct(**i) for i in row.get("identities") or []]
        return cls(
            **{k: v for k, v in row.items() if k in cls.model_fields and k not in _COMPUTED},
            codec=row.get("model_codec"),
            site=site,
            identities=identities,
            health=health_of(row),
            state=state,
        )


_COMPUTED = frozenset({"state", "site", "identities", "health", "codec"})


def health_of(row: dict[str, Any]) -> Health:
    """One word for the map and lists, most urgent first."""
    flags: tuple[tuple[Health, bool], ...] = (
        ("alarm", bool(row.get("alarm_active"))),
        ("tamper", bool(row.get("tamper_active"))),
        ("fault", bool(row.get("fault_active"))),
        ("never_seen", row.get("last_seen") is None),
        ("offline", bool(row.get("offline"))),
        ("low_battery", bool(row.get("battery_low"))),
    )
    return next((name for name, on in flags if on), "ok")


class DeviceRegistered(DeviceRead):
    """The answer to a registration: the device, and its MQTT credentials this one time."""

    mqtt: MqttCredentials | None


class DeviceReplaced(BaseModel):
    old: DeviceRead
    new: DeviceRead
    mqtt: MqttCredentials | None = None


class DeviceModelRead(BaseModel):
    """A detector model: the codec it speaks and how it is watched."""

    code: str
    vendor: str
    name: str
    codec: str
    heartbeat_period: timedelta
    has_heat_sensor: bool
    battery_low_pct: float | None
    battery_ok_pct: float | None
    battery_low_mv: int | None
    battery_ok_mv: int | None


class DiscoveredEntity(BaseModel):
    """One entity a device announced (Home Assistant discovery config)."""

    component: str
    device_class: str | None
    state_topic: str | None
    name: str | None = None
    unsupported: str | None = None


class DiscoveredDevice(BaseModel):
    """A detector that announced itself and may be registered by its ``device_key``."""

    codec: str
    device_key: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    smoke_detector: bool
    registered_device_id: str | None
    last_seen: datetime
    entities: list[DiscoveredEntity]
