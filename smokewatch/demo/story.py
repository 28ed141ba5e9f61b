"""The demo's storyline and background life, scheduled on a device_sim Simulation.

Scripted first minutes: a kitchen fire at an elderly woman's home (NZ-H0001), a detector
going silent, a battery running low, a nuisance alarm from cooking in a restaurant (NZ-V0001),
a detector taken down. Then random background life: heartbeats and, at a low rate, nuisance
alarms and self-tests somewhere in the sub-district. The people's side of the story
(acknowledging, resolving) is played by director.py through the alert engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from device_sim import scenarios
from device_sim.runner import Simulation

FIRE_DEVICE: Final = "NZ-H0001"  # an 82-year-old woman living alone; detector in the kitchen
RESTAURANT_DEVICE: Final = "NZ-V0001"  # 老张家常菜馆, detector in the back kitchen
BATTERY_DEVICE: Final = "NZ-H0002"
TAMPER_DEVICE: Final = "NZ-H0003"
SILENT_DEVICE: Final = "NZ-V0002"
SCRIPTED: Final = (FIRE_DEVICE, RESTAURANT_DEVICE, BATTERY_DEVICE, TAMPER_DEVICE, SILENT_DEVICE)


@dataclass(frozen=True, slots=True)
class Pace:
    """When things happen (seconds after the simulator starts) and how long people take."""

    fire_at: float
    silent_at: float
    battery_at: float
    nuisance_at: float
    tamper_at: float
    background_every: float  # mean seconds between random nuisance alarms
    answer_after: float  # the cadre reads the wave-2 SMS, then acknowledges
    resolve_after: float  # ... and resolves once the fire is out


PACES: Final = {
    "full": Pace(20, 40, 60, 90, 150, 600, 20, 45),
    "short": Pace(3, 4, 5, 6, 7, 3600, 1, 1),
}


def schedule_story(sim: Simulation, pace: Pace) -> list[tuple[str, str, float]]:
    """Schedule the scripted events; return (what, device, at) for the log."""
    plan = [
        ("fire", FIRE_DEVICE, pace.fire_at, scenarios.fire(silence_after=40, clear_after=300)),
        ("silent", SILENT_DEVICE, pace.silent_at, scenarios.silent()),
        ("battery", BATTERY_DEVICE, pace.battery_at,
         scenarios.battery(start_pct=23.0, step_pct=1.5, interval=5.0)),
        ("nuisance", RESTAURANT_DEVICE, pace.nuisance_at, scenarios.nuisance(clear_after=15)),
        ("tamper", TAMPER_DEVICE, pace.tamper_at, scenarios.tamper(restore_after=None)),
    ]  # fmt: skip
    for _, device, at, steps in plan:
        sim.schedule(device, steps, at=at)
    return [(name, device, at) for name, device, at, _ in plan]


def schedule_background(sim: Simulation, pace: Pace, *, start: float, end: float, seed: int) -> int:
    """Random nuisance alarms (mostly venues' kitchens) and self-tests; return how many."""
    rng = random.Random(seed)
    candidates = sorted(d for d in sim.detectors if d not in SCRIPTED)
    at, count = start, 0
    while candidates and count < 10_000:  # bounded even for a month-long run
        at += rng.expovariate(1.0 / pace.background_every)
        if at >= end:
            break
        device = rng.choice(candidates)
        steps = scenarios.self_test() if rng.random() < 0.3 else scenarios.nuisance()
        sim.schedule(device, steps, at=at)
        count += 1
    return count
