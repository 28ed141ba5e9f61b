"""Property maps: vendor thing-model properties (NB-IoT platforms, decoded LoRa objects) to flags.

CTWing and OneNET carry whatever thing model the product defines, so property names differ per
vendor. :data:`DEFAULT_MAP` holds our reference names: the native protocol's telemetry keys
(``battery``, ``battery_mv``, ``temperature``, ``signal``, ``smoke_obscuration``; docs/protocol.md)
plus one plain name per canonical flag (``smoke_alarm``, ``tamper``, ``fault``, ``test``...),
the zigbee2mqtt property names, and the vendor spellings seen in the platforms' documented
examples (``Battery_Level``, ``battery_value``, ``battery_state``, ``battery_voltage``). A product
with other names gets its own :class:`PropertyMap` in the codec's configuration. Keys match
case-insensitively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.codecs.common import Telemetry, as_flag, as_number, battery_level_low, lower_keys


@dataclass(frozen=True, slots=True)
class PropertyMap:
    """Which (lower-case) property names carry which canonical flag or measurement."""

    # "alarm" is what generic LoRaWAN codecs (ChirpStack codec templates, TTN device
    # repository decoders) call a smoke detector's alarm: for a smoke detector that is fire.
    alarm: tuple[str, ...] = (
        "smoke",
        "smoke_alarm",
        "smoke_state",
        "smoke_status",
        "fire_alarm",
        "alarm",
    )
    heat: tuple[str, ...] = ("heat", "heat_alarm", "high_temp_alarm", "temperature_alarm")
    tamper: tuple[str, ...] = ("tamper", "tamper_alarm", "tamper_state", "removed")
    battery_low: tuple[str, ...] = ("battery_low", "low_battery", "battery_state")
    fault: tuple[str, ...] = ("fault", "device_fault", "fault_alarm", "fault_state", "sensor_fault")
    test: tuple[str, ...] = ("test", "self_test", "test_alarm")
    silenced: tuple[str, ...] = ("silence", "silenced", "mute", "muted")
    battery_pct: tuple[str, ...] = ("battery", "battery_pct", "battery_level", "battery_value")
    battery_mv: tuple[str, ...] = ("battery_mv",)
    # Volts when the value is at most 20, millivolts above: both spellings exist in the wild.
    battery_voltage: tuple[str, ...] = ("battery_voltage", "voltage")
    temperature: tuple[str, ...] = ("temperature", "temp")
    signal_dbm: tuple[str, ...] = ("signal", "signal_dbm", "rssi")
    smoke_obscuration: tuple[str, ...] = ("smoke_obscuration",)

    def flag_names(self) -> dict[str, tuple[str, ...]]:
        """flag -> property names."""
        return {
            "alarm": self.alarm,
            "heat": self.heat,
            "tamper": self.tamper,
            "battery_low": self.battery_low,
            "fault": self.fault,
            "test": self.test,
            "silenced": self.silenced,
        }

    def handled(self) -> frozenset[str]:
        """Every property name this map understands."""
        names: set[str] = set()
        for group in (
            *self.flag_names().values(),
            self.battery_pct,
            self.battery_mv,
            self.battery_voltage,
            self.temperature,
            self.signal_dbm,
            self.smoke_obscuration,
        ):
            names.update(group)
        return frozenset(names)


DEFAULT_MAP: Final = PropertyMap()


@dataclass(slots=True)
class Mapped:
    """Flags, telemetry and the properties nobody mapped (kept in ``extra``)."""

    observed: dict[str, bool | None]
    telemetry: Telemetry
    unmapped: dict[str, Any]

    def any_flag(self) -> bool:
        """True when at least one flag was reported."""
        return any(v is not None for v in self.observed.values())


def map_properties(props: Mapping[str, Any], pmap: PropertyMap = DEFAULT_MAP) -> Mapped:
    """Map one flat property dictionary (values already unwrapped from ``{value, time}``)."""
    lowered = lower_keys(props)
    observed = _flags(lowered, pmap)
    telemetry = Telemetry()
    for name in pmap.battery_pct:
        value = lowered.get(name)
        low = battery_level_low(value) if isinstance(value, str) else None
        if low is not None:  # "low"/"medium"/"high" in a battery_level field
            observed["battery_low"] = bool(observed.get("battery_low")) or low
        elif value is not None:
            telemetry.set_battery_pct(name, value)
    _measurements(lowered, pmap, telemetry)
    handled = pmap.handled()
    unmapped = {k: v for k, v in lowered.items() if k not in handled}
    return Mapped(observed, telemetry, unmapped)


def _flags(lowered: Mapping[str, Any], pmap: PropertyMap) -> dict[str, bool | None]:
    observed: dict[str, bool | None] = {}
    for flag, names in pmap.flag_names().items():
        for name in names:
            if name not in lowered:
                continue
            value = lowered[name]
            seen = battery_level_low(value) if flag == "battery_low" else None
            seen = as_flag(value) if seen is None else seen
            if seen is not None:
                observed[flag] = bool(observed.get(flag)) or seen
    return observed


def _measurements(lowered: Mapping[str, Any], pmap: PropertyMap, telemetry: Telemetry) -> None:
    for name in pmap.battery_mv:
        if lowered.get(name) is not None:
            telemetry.set_battery_mv(name, lowered[name])
    for name in pmap.battery_voltage:
        number = as_number(lowered.get(name))
        if number is not None and number <= 20:
            telemetry.set_battery_volts(name, number)
        elif number is not None:
            telemetry.set_battery_mv(name, number)
    for name in pmap.temperature:
        if lowered.get(name) is not None:
            telemetry.set_temperature(name, lowered[name])
    for name in pmap.signal_dbm:
        if lowered.get(name) is not None:
            telemetry.set_signal(name, lowered[name])
    for name in pmap.smoke_obscuration:
        number = as_number(lowered.get(name))
        if number is not None and 0.0 <= number <= 100.0:
            telemetry.smoke_obscuration = number


def property_maps(raw: Mapping[str, Mapping[str, list[str]]]) -> dict[str, PropertyMap]:
    """Per-product maps from settings: named fields replace the defaults' names for that field,
    the others keep the defaults; an unknown field name is a ValueError (fail at start-up)."""
    known = {f.name for f in dataclasses.fields(PropertyMap)}
    out: dict[str, PropertyMap] = {}
    for product, fields in raw.items():
        unknown = set(fields) - known
        if unknown:
            raise ValueError(f"unknown property map fields for {product}: {sorted(unknown)}")
        names = {k: tuple(n.lower() for n in v) for k, v in fields.items()}
        out[product] = PropertyMap(**names)
    return out
