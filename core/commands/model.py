"""What a command is, which models take which command, and who may ask for one.

Pure rules, no I/O: the API asks :func:`check_request` before it stores a command, the
dispatcher (ingest) asks :func:`support_for` how to encode it. Capabilities are per device
model (``device_models.code``) and name the source that documents the encoding; a model not
listed takes no command at all, and the API and pages say so instead of pretending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

from core.commands.errors import (
    CommandNotAllowed,
    CommandUnsupported,
    InvalidParameters,
    RoleNotAllowed,
)


class Kind(StrEnum):
    """What the detector is asked to do."""

    SILENCE = "silence"  # mute a sounding siren; the detector re-arms by itself
    SELF_TEST = "self_test"  # sound the test siren and report "test"
    SET_HEARTBEAT = "set_heartbeat"  # report at least every interval_s
    RESET = "reset"  # restart the detector


class State(StrEnum):
    """Where a command stands (migration 0047)."""

    REQUESTED = "requested"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    EXPIRED = "expired"


LIVE_STATES: Final = (State.REQUESTED, State.SENT)

# How long a command may take to reach the device before it is shown as expired. A silence
# that arrives after ten minutes is pointless (the smoke has gone or the fire is real); a
# heartbeat setting waits for a battery detector's next wake-up.
LIFETIME: Final[dict[Kind, timedelta]] = {
    Kind.SILENCE: timedelta(minutes=10),
    Kind.SELF_TEST: timedelta(hours=1),
    Kind.SET_HEARTBEAT: timedelta(hours=48),
    Kind.RESET: timedelta(hours=1),
}
# Resend a sent command that has no acknowledgement after this long (same id: the device
# deduplicates), until it expires.
RETRY_AFTER: Final = timedelta(seconds=30)

# The native protocol's silence (docs/protocol.md section 12): duration_s, default and bounds.
NATIVE_SILENCE_S: Final = 600
SILENCE_MIN_S: Final = 60
SILENCE_MAX_S: Final = 900
HEARTBEAT_MIN_S: Final = 300
HEARTBEAT_MAX_S: Final = 86_400


@dataclass(frozen=True, slots=True)
class Support:
    """What one model takes, how long its silence lasts, and where that is documented."""

    kinds: frozenset[Kind]
    transport: str
    rearm_s: int | None = None  # how long a remote silence lasts (None: the vendor does not say)
    source: str = ""
    # per kind, the wire form the transport sends (z2m property, LoRaWAN port...)
    encodings: dict[Kind, dict[str, Any]] = field(default_factory=dict)
    why_not: str = ""  # shown when a kind is missing


_NATIVE = Support(
    kinds=frozenset(Kind),
    transport="native",
    rearm_s=NATIVE_SILENCE_S,
    source="docs/protocol.md section 12",
)

_NO_Z2M = "zigbee2mqtt exposes no writable property for this model"
# zigbee-herdsman-converters (Koenkk/zigbee-herdsman-converters, src/devices/*.ts and
# src/lib/lumi.ts, read at df72005): what each model's definition lets <friendly_name>/set write.
CAPABILITIES: Final[dict[str, Support]] = {
    "sw-native-1": _NATIVE,
    "sw-native-heat-1": _NATIVE,
    # lumi.ts JY-GZ-01AQ: exposes enum "selftest" (SET, ["selftest"]) and enum "buzzer"
    # (SET, ["mute", "alarm"]): "During a smoke alarm, the buzzer can be manually muted for
    # 80 seconds".
    "aqara-jy-gz-01aq": Support(
        kinds=frozenset({Kind.SILENCE, Kind.SELF_TEST}),
        transport="zigbee2mqtt",
        rearm_s=80,
        source="zigbee-herdsman-converters src/devices/lumi.ts (JY-GZ-01AQ), src/lib/lumi.ts",
        encodings={Kind.SILENCE: {"buzzer": "mute"}, Kind.SELF_TEST: {"selftest": "selftest"}},
        why_not="no writable heartbeat or reset property",
    ),
    # lumi.ts JTYJ-GD-01LM/BW: toZigbee lumi_sensitivity, lumi_selftest; exposes enum
    # "selftest" (SET, [""]).
    "xiaomi-jtyj-gd-01lm-bw": Support(
        kinds=frozenset({Kind.SELF_TEST}),
        transport="zigbee2mqtt",
        source="zigbee-herdsman-converters src/devices/lumi.ts (JTYJ-GD-01LM/BW)",
        encodings={Kind.SELF_TEST: {"selftest": ""}},
        why_not="no writable silence property",
    ),
    # tuya.ts TS0601_smoke_5 (and PA-44Z): datapoint 16 "silence", tuya.exposes.silence() =
    # binary "silence" STATE_SET true/false. Variants TS0601_smoke_1/3/4 have no such
    # datapoint: their silence goes unacknowledged and expires.
    "tuya-ts0601-smoke": Support(
        kinds=frozenset({Kind.SILENCE}),
        transport="zigbee2mqtt",
        source="zigbee-herdsman-converters src/devices/tuya.ts (TS0601_smoke_5), src/lib/tuya.ts",
        encodings={Kind.SILENCE: {"silence": True}},
        why_not="only the silence datapoint is writable",
    ),
    # heiman.ts HS3SA/HS1SA, tuya.ts TS0205, develco.ts SMSZB-120 (tz.warning drives its own
    # siren, not the smoke alarm): toZigbee [] for the smoke function.
    "heiman-hs1sa": Support(frozenset(), "zigbee2mqtt", why_not=_NO_Z2M),
    "heiman-hs3sa": Support(frozenset(), "zigbee2mqtt", why_not=_NO_Z2M),
    "tuya-ts0205": Support(frozenset(), "zigbee2mqtt", why_not=_NO_Z2M),
    "develco-smszb-120": Support(frozenset(), "zigbee2mqtt", why_not=_NO_Z2M),
    # A generic LoRaWAN product: its downlinks are the vendor's, unknown here.
    "lorawan-generic-smoke": Support(
        frozenset(), "chirpstack", why_not="no documented downlink for a generic LoRaWAN model"
    ),
    # Home Assistant discovery exposes sensors (binary_sensor, sensor) only: nothing to write.
    "ha-discovery-smoke": Support(
        frozenset(), "homeassistant",
        why_not="Home Assistant discovery publishes sensors only, no command topic",
    ),
    # Milesight-IoT/SensorDecoders GS_Series/GS524N documents uplinks only.
    "milesight-gs524n": Support(
        frozenset(), "chirpstack", why_not="Milesight documents no downlink for the GS524N"
    ),
    # TheThingsNetwork/lorawan-devices vendor/netvox/payload/ra02a.js encodeDownlink:
    # ConfigReportReq on fPort 7 = [0x01, 0x0A (RA02A), MinTime(2, s), MaxTime(2, s),
    # BatteryChange(1, 0.1 V), 0, 0, 0, 0]; the device answers ConfigReportRsp (0x81) on fPort 7.
    "netvox-ra02a": Support(
        kinds=frozenset({Kind.SET_HEARTBEAT}),
        transport="chirpstack",
        source="TheThingsNetwork/lorawan-devices vendor/netvox/payload/ra02a.js",
        encodings={Kind.SET_HEARTBEAT: {"fPort": 7}},
        why_not="Netvox documents only the report configuration downlink for the RA02A",
    ),
    # CTWing AEP command delivery (ingest/commands/ctwing.py); the product's services are
    # configuration (SMOKEWATCH_CTWING_COMMANDS): a kind without one fails at once, visibly.
    "nbiot-ctwing-smoke": Support(
        kinds=frozenset(Kind),
        transport="ctwing",
        source="CTWing AEP /aep_device_command/command; services from SMOKEWATCH_CTWING_COMMANDS",
    ),
    # OneNET SetDeviceProperty (ingest/commands/onenet.py); properties from settings.
    "nbiot-onenet-smoke": Support(
        kinds=frozenset(Kind),
        transport="onenet",
        source="OneNET API SetDeviceProperty; properties from SMOKEWATCH_ONENET_COMMANDS",
    ),
}  # fmt: skip

_UNKNOWN = Support(frozenset(), "none", why_not="this model is not known to take commands")


def support_for(model_code: str) -> Support:
    """What ``model_code`` takes (nothing for a model not listed)."""
    return CAPABILITIES.get(model_code, _UNKNOWN)


def require_support(model_code: str, kind: Kind) -> Support:
    """The model's support, or :class:`CommandUnsupported` when it cannot take ``kind``."""
    support = support_for(model_code)
    if kind not in support.kinds:
        raise CommandUnsupported(f"model {model_code} cannot take {kind}: {support.why_not}")
    return support


def parameters_for(kind: Kind, support: Support, given: dict[str, Any]) -> dict[str, Any]:
    """Validated parameters with defaults filled in; :class:`InvalidParameters` otherwise."""
    if kind is Kind.SILENCE:
        allowed = {"duration_s"}
        if support.transport != "native":
            # Vendors fix their own silence; the API reports how long it lasts.
            if given:
                raise InvalidParameters("this model's silence takes no parameters")
            return {"duration_s": support.rearm_s} if support.rearm_s else {}
        duration = given.get("duration_s", support.rearm_s or NATIVE_SILENCE_S)
        _int_between("duration_s", duration, SILENCE_MIN_S, SILENCE_MAX_S)
        params: dict[str, Any] = {"duration_s": duration}
    elif kind is Kind.SET_HEARTBEAT:
        allowed = {"interval_s"}
        if "interval_s" not in given:
            raise InvalidParameters("interval_s is required")
        high = 65_535 if support.transport == "chirpstack" else HEARTBEAT_MAX_S
        _int_between("interval_s", given["interval_s"], HEARTBEAT_MIN_S, high)
        params = {"interval_s": given["interval_s"]}
    else:
        allowed = set()
        params = {}
    unknown = given.keys() - allowed
    if unknown:
        raise InvalidParameters(f"unknown parameters for {kind}: {sorted(unknown)}")
    return params


def _int_between(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameters(f"{name} must be an integer from {low} to {high}")


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What the rules need to know about the incident a silence belongs to."""

    id: int
    device_id: str
    site_id: int | None
    status: str
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: their role, and for a relative the household their link opens."""

    role: str
    site_id: int | None = None


# Who may ask for which kind (the device being in the caller's scope is checked by the API).
ROLES_FOR: Final[dict[Kind, frozenset[str]]] = {
    Kind.SILENCE: frozenset({"administrator", "operator", "relative"}),
    Kind.SELF_TEST: frozenset({"administrator", "operator", "installer"}),
    Kind.SET_HEARTBEAT: frozenset({"administrator", "installer"}),
    Kind.RESET: frozenset({"administrator", "installer"}),
}


def check_request(
    *,
    kind: Kind,
    requester: Requester,
    device_id: str,
    incident: IncidentFacts | None,
    suspected_cause: str | None,
    confirmed: bool,
) -> None:
    """Raise :class:`CommandNotAllowed` unless ``requester`` may ask for ``kind`` now.

    A silence needs the device's own incident, acknowledged by someone and still open, and a
    suspected nuisance cause recorded with the request (it goes into the incident's log). A
    relative may silence only their own household's incident and must confirm. Silencing never
    resolves the incident.
    """
    if requester.role not in ROLES_FOR[kind]:
        raise RoleNotAllowed(f"role {requester.role} may not request {kind}")
    if kind is not Kind.SILENCE:
        return
    if incident is None or incident.device_id != device_id:
        raise CommandNotAllowed("a silence belongs to an incident of this detector")
    if incident.status == "resolved":
        raise CommandNotAllowed("the incident is resolved")
    if not incident.acknowledged:
        raise CommandNotAllowed("someone must acknowledge the incident before a silence")
    if not suspected_cause:
        raise CommandNotAllowed("record the suspected nuisance cause before a silence")
    if requester.role == "relative":
        if requester.site_id is None or requester.site_id != incident.site_id:
            raise CommandNotAllowed("not your household's incident")
        if not confirmed:
            raise CommandNotAllowed("confirm the silence first")
