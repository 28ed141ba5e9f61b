"""Our own decoders for LoRaWAN smoke detector payloads (the FRMPayload ChirpStack hands over),
and what each frame says in canonical flags.

Written from the vendors' published payload definitions:

- Milesight GS524N: Milesight-IoT/SensorDecoders ``GS_Series/GS524N/README.md`` (6 bytes:
  firmware/protocol version nibbles, sensor type/message type nibbles, battery %, smoke
  concentration %, temperature int8 degrees C, checksum so that the six bytes sum to 0 mod 256)
  and ``GS524N_Decoder.js`` (temperature read as signed int8).
- Netvox RA02A: TheThingsNetwork/lorawan-devices ``vendor/netvox/payload/ra02a.js`` (fPort 6,
  byte 1 device type 0x0A; report type 0x00 = version report, otherwise: byte 3 battery in 0.1 V
  with bit 7 = low battery, byte 4 fire alarm, byte 5 high-temperature alarm, bytes 6-7 signed
  temperature in 0.1 degrees C, big-endian).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from core.codecs.common import Telemetry
from core.errors import DecodeError

GS524N_MESSAGE_TYPES: Final = {
    1: "alarm",
    2: "silent",
    4: "low battery",
    5: "failover",
    7: "normal",
    10: "removed",
    11: "installed",
    14: "testing alarm with normal battery",
    15: "testing alarm with low battery",
}
RA02A_FPORT: Final = 6
RA02A_DEVICE_TYPE: Final = 0x0A
_GS524N_LENGTH: Final = 6
_RA02A_MIN_LENGTH: Final = 8

Observed = dict[str, bool | None]


@dataclass(frozen=True, slots=True)
class Gs524nFrame:
    """One decoded GS524N uplink."""

    firmware_version: int
    protocol_version: int
    sensor_type: int
    message_type: int
    battery_pct: int
    concentration_pct: int
    temperature_c: int

    @property
    def event(self) -> str:
        """The vendor's name for the message type."""
        return GS524N_MESSAGE_TYPES.get(self.message_type, "unknown")


@dataclass(frozen=True, slots=True)
class Ra02aFrame:
    """One decoded RA02A data report (report type other than 0x00)."""

    version: int
    report_type: int
    battery_mv: int
    battery_low: bool
    fire_alarm: bool
    high_temp_alarm: bool
    temperature_c: float


@dataclass(frozen=True, slots=True)
class Ra02aVersion:
    """An RA02A version report (report type 0x00), sent at start-up."""

    software_version: float
    hardware_version: int
    date_code: str


def looks_like_gs524n(data: bytes) -> bool:
    """Six bytes, sensor type 1, valid checksum: the GS524N frame shape."""
    return len(data) == _GS524N_LENGTH and data[1] >> 4 == 1 and sum(data) % 256 == 0


def looks_like_ra02a(fport: int | None, data: bytes) -> bool:
    """fPort 6 and device type 0x0A: the RA02A frame shape."""
    return fport == RA02A_FPORT and len(data) >= 2 and data[1] == RA02A_DEVICE_TYPE


def decode_gs524n(data: bytes) -> Gs524nFrame:
    """Decode a GS524N uplink; DecodeError for the wrong length, type or checksum."""
    if len(data) != _GS524N_LENGTH:
        raise DecodeError("bad_payload", f"GS524N frames are 6 bytes, got {len(data)}")
    if sum(data) % 256 != 0:
        raise DecodeError("bad_checksum", "GS524N checksum does not sum to zero")
    sensor_type = data[1] >> 4
    if sensor_type != 1:
        raise DecodeError("bad_payload", f"GS524N sensor type {sensor_type} is not smoke (1)")
    message_type = data[1] & 0x0F
    if message_type not in GS524N_MESSAGE_TYPES:
        raise DecodeError("bad_payload", f"unknown GS524N message type {message_type}")
    temperature = data[4] - 0x100 if data[4] > 0x7F else data[4]
    return Gs524nFrame(
        firmware_version=data[0] >> 4,
        protocol_version=data[0] & 0x0F,
        sensor_type=sensor_type,
        message_type=message_type,
        battery_pct=data[2],
        concentration_pct=data[3],
        temperature_c=temperature,
    )


def decode_ra02a(fport: int | None, data: bytes) -> Ra02aFrame | Ra02aVersion:
    """Decode an RA02A uplink on fPort 6; DecodeError for anything else."""
    if fport != RA02A_FPORT:
        raise DecodeError("bad_payload", f"RA02A reports arrive on fPort 6, not {fport}")
    if len(data) < _RA02A_MIN_LENGTH:
        raise DecodeError("bad_payload", f"RA02A frame too short ({len(data)} bytes)")
    if data[1] != RA02A_DEVICE_TYPE:
        raise DecodeError("bad_payload", f"device type 0x{data[1]:02x} is not RA02A (0x0a)")
    if data[2] == 0x00:
        date_code = "".join(f"{b:02x}" for b in data[5:9])
        return Ra02aVersion(data[3] / 10, data[4], date_code)
    raw_temp = int.from_bytes(data[6:8], "big", signed=True)
    return Ra02aFrame(
        version=data[0],
        report_type=data[2],
        battery_mv=(data[3] & 0x7F) * 100,
        battery_low=bool(data[3] & 0x80),
        fire_alarm=data[4] != 0x00,
        high_temp_alarm=data[5] != 0x00,
        temperature_c=raw_temp / 10,
    )


def gs524n_observation(
    frame: Gs524nFrame, telemetry: Telemetry, extra: dict[str, Any]
) -> tuple[Observed, set[str]]:
    """Flags (and which are event-style) and telemetry of a GS524N frame."""
    telemetry.set_battery_pct("battery", frame.battery_pct)
    telemetry.set_temperature("temperature", frame.temperature_c)
    extra["concentration_pct"] = frame.concentration_pct
    extra["gs524n_event"] = frame.event
    telemetry.firmware = str(frame.firmware_version)
    t = frame.message_type
    observed: Observed = {}
    forced: set[str] = set()
    if t == 1:
        observed["alarm"], forced = True, {"alarm"}
    elif t == 2:
        observed["silenced"], forced = True, {"silenced"}
    elif t == 4:
        observed["battery_low"] = True
    elif t == 5:
        observed["fault"] = True
    elif t == 7:
        # "normal": no alarm, no fault, battery fine (tamper has its own pair of messages).
        observed.update(alarm=False, fault=False, battery_low=False, silenced=False)
    elif t == 10:
        observed["tamper"] = True
    elif t == 11:
        observed["tamper"] = False
    elif t in (14, 15):
        observed.update(test=True, battery_low=t == 15)
        forced = {"test"}
    return observed, forced


def ra02a_observation(frame: Ra02aFrame, telemetry: Telemetry) -> tuple[Observed, set[str]]:
    """Flags and telemetry of an RA02A data report (a state: alarms come from transitions)."""
    telemetry.battery_mv = frame.battery_mv
    telemetry.set_temperature("temperature", frame.temperature_c)
    return (
        {
            "alarm": frame.fire_alarm,
            "heat": frame.high_temp_alarm,
            "battery_low": frame.battery_low,
        },
        set(),
    )
