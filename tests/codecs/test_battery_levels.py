"""Low battery from a level (issue 17): thresholds with hysteresis, merged with device flags."""

from __future__ import annotations

import pytest

from core.codecs.battery import BatteryLimits, with_level
from core.codecs.common import Telemetry

PCT = {"profile": {"battery": {"low_pct": 20, "ok_pct": 30, "low_mv": None, "ok_mv": None}}}
MV = {"profile": {"battery": {"low_pct": None, "ok_pct": None, "low_mv": 2600, "ok_mv": 2800}}}


def telemetry(pct: float | None = None, mv: int | None = None) -> Telemetry:
    return Telemetry(battery_pct=pct, battery_mv=mv)


@pytest.mark.parametrize(
    ("state", "values", "explicit", "expected"),
    [
        (PCT, telemetry(pct=20), None, True),  # at the low limit: low
        (PCT, telemetry(pct=25), None, None),  # in the band: keep what was known
        (PCT, telemetry(pct=30), None, False),  # at the ok limit: fine
        (PCT, telemetry(pct=25), False, None),  # the device's "fine" cannot clear in the band
        (PCT, telemetry(pct=50), True, True),  # the device's own "low" always counts
        (PCT, telemetry(mv=2500), None, None),  # no percentage, no mV limits: nothing to judge
        (MV, telemetry(mv=2600), None, True),  # volts arrive as millivolts
        (MV, telemetry(mv=2700), False, None),
        (MV, telemetry(mv=2900), None, False),
        ({}, telemetry(pct=1), False, False),  # no profile: the device's flag as it is
        ({"profile": {"battery": {"low_pct": 30, "ok_pct": 20}}}, telemetry(pct=1), None, None),
    ],
)
def test_with_level(
    state: dict, values: Telemetry, explicit: bool | None, expected: bool | None
) -> None:
    observed = {} if explicit is None else {"battery_low": explicit}
    assert with_level(observed, values, state).get("battery_low") == expected


def test_limits_from_garbage_state_are_none() -> None:
    assert BatteryLimits.from_state({"profile": "x"}) is None
    flags_not_numbers = {"profile": {"battery": {"low_pct": True, "ok_pct": 3}}}
    assert BatteryLimits.from_state(flags_not_numbers) is None
    assert BatteryLimits.from_state(None) is None
    infinite = {"profile": {"battery": {"low_mv": float("inf"), "ok_mv": 2800, "low_pct": 2**80}}}
    assert BatteryLimits.from_state(infinite) is None
