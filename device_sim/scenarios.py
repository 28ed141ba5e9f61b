"""What can happen to a detector, as timelines of steps.

A scenario is a function of a few keyword parameters returning a list of :class:`Step`: at
``at`` seconds (simulated time) after the scenario starts, ``action`` builds the messages the
device publishes then. Actions run at publish time, so ``seq`` and ``ts`` interleave correctly
with the device's periodic reports. :func:`play` runs a timeline without a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from device_sim.detector import LOW_BATTERY_PCT, Detector, battery_mv
from device_sim.malformed import malformed_labels, malformed_message
from device_sim.protocol import OutMessage

Action = Callable[[Detector, datetime], list[OutMessage]]


@dataclass(frozen=True, slots=True)
class Step:
    """At ``at`` simulated seconds after the start, do ``action`` (``name`` is for logs)."""

    at: float
    action: Action
    name: str


# -- actions ----------------------------------------------------------------------------------


def event(event_type: str, **fields: Any) -> Step:
    """Publish an event (the step's ``at`` is set by :func:`_at`)."""

    def act(det: Detector, now: datetime) -> list[OutMessage]:
        return [det.event(event_type, now, **fields)]

    return Step(0.0, act, event_type)


def telemetry(**overrides: Any) -> Step:
    """Publish a telemetry report, with sensor values overridden where given."""

    def act(det: Detector, now: datetime) -> list[OutMessage]:
        for name, value in overrides.items():
            _apply(det, name, value)
        return [det.telemetry(now)]

    return Step(0.0, act, "telemetry")


def _apply(det: Detector, wire_name: str, value: Any) -> None:
    attribute = {
        "smoke_obscuration": "smoke_obscuration",
        "temperature": "temperature_c",
        "battery": "battery_pct",
        "signal": "signal_dbm",
    }[wire_name]
    setattr(det, attribute, value)


def _at(at: float, step: Step) -> Step:
    return Step(at, step.action, step.name)


# -- scenarios --------------------------------------------------------------------------------


def fire(
    *, silence_after: float = 45.0, clear_after: float = 900.0, heat: bool = False
) -> list[Step]:
    """A real fire: alarm, a neighbour silences the siren, the alarm clears when smoke is gone."""
    steps = [_at(0.0, event("alarm", smoke_obscuration=12.5, temperature=38.5))]
    if heat:
        steps.append(_at(silence_after / 2, event("high_temperature", temperature=64.0)))
    steps.append(_at(silence_after, event("silenced", smoke_obscuration=9.8)))
    steps.append(_at(clear_after, event("alarm_cleared", smoke_obscuration=0.4, temperature=24.0)))
    return steps


def nuisance(*, clear_after: float = 8.0) -> list[Step]:
    """Cooking smoke: an alarm that clears by itself within seconds."""
    return [
        _at(0.0, event("alarm", smoke_obscuration=4.6, temperature=27.0)),
        _at(clear_after, event("alarm_cleared", smoke_obscuration=0.6)),
    ]


def battery(
    *, start_pct: float = 24.0, step_pct: float = 2.5, interval: float = 3600.0
) -> list[Step]:
    """A battery running down in steps until the detector reports ``low_battery`` once."""
    steps: list[Step] = []
    pct, at = start_pct, 0.0
    while pct >= LOW_BATTERY_PCT:
        steps.append(_at(at, telemetry(battery=round(pct, 1))))
        pct, at = pct - step_pct, at + interval
    low = round(max(pct, 0.0), 1)
    steps.append(_at(at, telemetry(battery=low)))
    steps.append(_at(at, event("low_battery", battery=low, battery_mv=battery_mv(low))))
    return steps


def tamper(*, restore_after: float | None = 300.0) -> list[Step]:
    """The detector is taken off its base, and put back after ``restore_after`` seconds."""
    steps = [_at(0.0, event("tamper"))]
    if restore_after is not None:
        steps.append(_at(restore_after, event("tamper_cleared")))
    return steps


def fault(*, code: str = "chamber_contaminated", clear_after: float | None = None) -> list[Step]:
    """A self-diagnosed fault (sensor, chamber, buzzer); it clears only when serviced."""
    steps = [_at(0.0, event("fault", code=code))]
    if clear_after is not None:
        steps.append(_at(clear_after, event("fault_cleared", code=code)))
    return steps


def self_test() -> list[Step]:
    """The test button at installation: a ``test`` event that proves the siren works."""
    return [_at(0.0, event("test"))]


def silent() -> list[Step]:
    """One last report, then nothing: a dead battery or a detector in a drawer."""

    def stop(det: Detector, now: datetime) -> list[OutMessage]:
        det.silent = True
        return []

    return [_at(0.0, telemetry()), Step(0.0, stop, "silent")]


def reboot(*, down_for: float = 20.0) -> list[Step]:
    """A power cycle: offline, then online with ``seq`` starting again at 0."""

    def go_down(det: Detector, now: datetime) -> list[OutMessage]:
        return [det.status("offline")]

    def come_up(det: Detector, now: datetime) -> list[OutMessage]:
        det.reboot()
        return [det.status("online"), det.telemetry(now)]

    return [Step(0.0, go_down, "offline"), Step(down_for, come_up, "reboot")]


def duplicate(*, gap: float = 2.0) -> list[Step]:
    """QoS 1 redelivery: a telemetry report and a test event, each published twice, same bytes."""
    originals: list[OutMessage] = []

    def original(make: Action) -> Action:
        def act(det: Detector, now: datetime) -> list[OutMessage]:
            originals[:] = make(det, now)
            return list(originals)

        return act

    def again(det: Detector, now: datetime) -> list[OutMessage]:
        return [m.as_duplicate() for m in originals]

    return [
        Step(0.0, original(telemetry().action), "telemetry"),
        Step(gap, again, "duplicate"),
        Step(2 * gap, original(event("test").action), "test"),
        Step(3 * gap, again, "duplicate"),
    ]


def malformed(*, gap: float = 1.0) -> list[Step]:
    """Every kind of bad message in :mod:`device_sim.malformed`, ``gap`` seconds apart."""

    def bad(label: str) -> Action:
        return lambda det, now: [malformed_message(label, det.prefix, det.device_id, when=now)]

    return [
        Step(i * gap, bad(label), f"malformed:{label}")
        for i, label in enumerate(malformed_labels())
    ]


SCENARIOS: Final[dict[str, Callable[..., list[Step]]]] = {
    "fire": fire,
    "nuisance": nuisance,
    "battery": battery,
    "tamper": tamper,
    "fault": fault,
    "self_test": self_test,
    "silent": silent,
    "reboot": reboot,
    "duplicate": duplicate,
    "malformed": malformed,
}


def play(steps: Sequence[Step], det: Detector, start: datetime) -> list[OutMessage]:
    """Run a timeline at once, stamping each step with ``start + at``; for tests and dry runs."""
    out: list[OutMessage] = []
    for step in sorted(steps, key=lambda s: s.at):
        now = start + timedelta(seconds=step.at)
        det.tick(now)
        out.extend(step.action(det, now))
    return out
