"""Low battery from a level: per-model thresholds with hysteresis.

Some detectors never say "battery low"; they publish a percentage or a voltage only (Aqara
JY-GZ-01AQ and Tuya TS0205 through zigbee2mqtt, ChirpStack ``status`` events, LoRaWAN decoders
that give volts). Their model (``device_models.battery_low_pct`` / ``battery_ok_pct``,
``battery_low_mv`` / ``battery_ok_mv``, migration 0045) says where low starts and where it ends:

- level at or below the *low* threshold: the flag is low (``low_battery`` on the transition);
- level at or above the *ok* threshold: the flag clears (``battery_ok`` when it was low);
- in between: nothing changes, so a value wobbling at the limit does not flap.

Volts are compared as millivolts (codecs convert them). A device that also has its own flag
keeps it: a low flag always counts, but while a level is known and in the band, the device's
"not low" does not clear a low the level set (that would flap on every report).

Ingest passes the registered model's thresholds to the codec inside the device's state, under
:data:`PROFILE_KEY` (``core.codecs.registry.run_codec``); codecs never store it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.codecs.common import Telemetry

PROFILE_KEY: Final = "profile"
Level = Literal["low", "ok", "band"]


@dataclass(frozen=True, slots=True)
class BatteryLimits:
    """Where a model's battery becomes low and where it is fine again."""

    low_pct: float | None = None
    ok_pct: float | None = None
    low_mv: int | None = None
    ok_mv: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what ingest puts in the profile)."""
        return {
            "low_pct": self.low_pct,
            "ok_pct": self.ok_pct,
            "low_mv": self.low_mv,
            "ok_mv": self.ok_mv,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> BatteryLimits | None:
        """The limits ingest put in the state, or None (no profile, or garbage)."""
        if not isinstance(state, Mapping):
            return None
        profile = state.get(PROFILE_KEY)
        battery = profile.get("battery") if isinstance(profile, Mapping) else None
        if not isinstance(battery, Mapping):
            return None
        values = {k: _number(battery.get(k)) for k in ("low_pct", "ok_pct", "low_mv", "ok_mv")}
        limits = cls(
            low_pct=values["low_pct"],
            ok_pct=values["ok_pct"],
            low_mv=None if values["low_mv"] is None else int(values["low_mv"]),
            ok_mv=None if values["ok_mv"] is None else int(values["ok_mv"]),
        )
        return limits if limits.usable() else None

    def usable(self) -> bool:
        """At least one complete pair with low below ok."""
        return self._pct_pair() is not None or self._mv_pair() is not None

    def _pct_pair(self) -> tuple[float, float] | None:
        if self.low_pct is None or self.ok_pct is None or self.low_pct >= self.ok_pct:
            return None
        return self.low_pct, self.ok_pct

    def _mv_pair(self) -> tuple[float, float] | None:
        if self.low_mv is None or self.ok_mv is None or self.low_mv >= self.ok_mv:
            return None
        return float(self.low_mv), float(self.ok_mv)

    def level(self, telemetry: Telemetry) -> Level | None:
        """What the message's battery level says; None when it carries no level we can judge.

        Percent is used when the model has percent limits and the message a percentage;
        otherwise millivolts.
        """
        pct, mv = self._pct_pair(), self._mv_pair()
        if pct is not None and telemetry.battery_pct is not None:
            return _judge(telemetry.battery_pct, pct)
        if mv is not None and telemetry.battery_mv is not None:
            return _judge(float(telemetry.battery_mv), mv)
        return None


def _judge(value: float, pair: tuple[float, float]) -> Level:
    low, ok = pair
    if value <= low:
        return "low"
    if value >= ok:
        return "ok"
    return "band"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def with_level(
    observed: Mapping[str, bool | None],
    telemetry: Telemetry,
    state: Mapping[str, Any] | None,
) -> dict[str, bool | None]:
    """``observed`` with ``battery_low`` decided by the level, where the model has limits."""
    out = dict(observed)
    limits = BatteryLimits.from_state(state)
    level = limits.level(telemetry) if limits is not None else None
    if level is None:
        return out
    explicit = out.get("battery_low")
    if level == "low" or explicit is True:
        out["battery_low"] = True
    elif level == "ok":
        out["battery_low"] = False
    else:
        out["battery_low"] = None  # in the band: keep whatever was known
    return out


def strip_profile(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state without the profile ingest lent it (the model may change; never store it)."""
    return {k: v for k, v in state.items() if k != PROFILE_KEY}
