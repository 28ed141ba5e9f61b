"""A simulated detector: its sensors, battery, clock and per-boot message counter.

The values stay inside what core.codecs.native accepts (see docs/protocol.md). Every device has
its own seeded random generator, so a fleet built with the same seed says the same things.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from device_sim.protocol import OutMessage, TsFormat, body, topic

SiteKind = Literal["household", "venue", "device"]

LOW_BATTERY_PCT: Final = 20.0
FIRMWARE: Final = "1.4.2"
# A 10-year lithium cell: 100 % over ~87,600 h.
NORMAL_DRAIN_PCT_PER_HOUR: Final = 100.0 / (10 * 8760)
_TS_MIX: Final = (TsFormat.ISO_UTC, TsFormat.EPOCH_MS, TsFormat.ISO_CST, TsFormat.EPOCH_S)


def battery_mv(pct: float) -> int:
    """Cell voltage of a 3 V lithium primary cell at ``pct`` (2600 mV empty, 3000 mV full)."""
    return round(2600 + 4 * max(0.0, min(100.0, pct)))


@dataclass(slots=True)
class Detector:
    """One simulated smoke detector publishing under ``prefix``."""

    device_id: str
    prefix: str
    site_kind: SiteKind = "device"
    ts_format: TsFormat = TsFormat.ISO_UTC
    seed: int = 0
    firmware: str = FIRMWARE
    battery_pct: float = 95.0
    signal_dbm: int = -75
    temperature_c: float = 21.0
    smoke_obscuration: float = 0.02
    drain_pct_per_hour: float = NORMAL_DRAIN_PCT_PER_HOUR
    seq: int = 0  # the next seq; restarts at 0 on every boot
    boot: int = 1
    silent: bool = False
    battery_low: bool = False
    # Set by commands (device_sim/commands.py): reporting period and a remote silence's end.
    heartbeat_s: int = 3600
    silenced_until: datetime | None = None
    last_message: OutMessage | None = None
    rng: random.Random = field(init=False, repr=False)
    _signal_base: int = field(init=False, repr=False)
    _last_tick: datetime | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:{self.device_id}")
        self.battery_pct = round(self.rng.uniform(55.0, 100.0), 1)
        self._signal_base = self.rng.randint(-105, -55)
        self.signal_dbm = self._signal_base
        self.temperature_c = round(self.rng.uniform(14.0, 26.0), 1)

    # -- the physical state -------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Let time pass: the battery drains, the signal and temperature wander, smoke settles."""
        hours = 0.0 if self._last_tick is None else (now - self._last_tick).total_seconds() / 3600
        self._last_tick = now
        if hours <= 0:
            return
        self.battery_pct = max(0.0, self.battery_pct - self.drain_pct_per_hour * hours)
        step = self.rng.randint(-3, 3)
        self.signal_dbm = max(
            -120, min(-40, round(0.8 * (self.signal_dbm + step) + 0.2 * self._signal_base))
        )
        self.temperature_c = max(-10.0, min(45.0, self.temperature_c + self.rng.uniform(-0.4, 0.4)))
        self.smoke_obscuration = round(
            0.5 * self.smoke_obscuration + 0.5 * self.rng.uniform(0.0, 0.08), 3
        )

    def reboot(self) -> None:
        """Power-cycle: the message counter starts again at 0."""
        self.seq = 0
        self.boot += 1

    def readings(self) -> dict[str, Any]:
        """The telemetry fields as they go on the wire (units: %/m, °C, %, mV, dBm)."""
        return {
            "smoke_obscuration": round(self.smoke_obscuration, 3),
            "temperature": round(self.temperature_c, 1),
            "battery": round(self.battery_pct, 1),
            "battery_mv": battery_mv(self.battery_pct),
            "signal": self.signal_dbm,
            "firmware": self.firmware,
        }

    # -- messages -----------------------------------------------------------------------------

    def telemetry(self, now: datetime, **overrides: Any) -> OutMessage:
        """A periodic report with every sensor value."""
        fields = self.readings() | overrides
        return self._message("telemetry", now, fields, None)

    def event(self, event_type: str, now: datetime, **fields: Any) -> OutMessage:
        """An event of ``event_type`` (docs/protocol.md lists them) with optional readings."""
        return self._message("event", now, {"type": event_type, **fields}, event_type)

    def status(self, state: Literal["online", "offline"], *, retain: bool = True) -> OutMessage:
        """The connection state as plain text; the receiver stamps it with its receive time."""
        message = OutMessage(
            topic=topic(self.prefix, self.device_id, "status"),
            payload=state.encode(),
            device_id=self.device_id,
            kind="status",
            retain=retain,
            event_type=state,
        )
        self.last_message = message
        return message

    def _message(
        self,
        kind: Literal["telemetry", "event"],
        now: datetime,
        fields: dict[str, Any],
        event_type: str | None,
    ) -> OutMessage:
        seq = self.seq
        self.seq += 1
        message = OutMessage(
            topic=topic(self.prefix, self.device_id, kind),
            payload=body(now, self.ts_format, seq, fields),
            device_id=self.device_id,
            kind=kind,
            event_type=event_type,
            seq=seq,
            dedupable=self.ts_format is not TsFormat.NONE,
        )
        self.last_message = message
        return message


def programme_ids(
    prefix: str = "NZ", households: int = 283, venues: int = 131
) -> list[tuple[str, SiteKind]]:
    """``NZ-H0001``..``NZ-H0283`` and ``NZ-V0001``..``NZ-V0131`` with their site kind."""
    width = max(4, len(str(max(households, venues, 1))))
    return [(f"{prefix}-H{n:0{width}d}", "household") for n in range(1, households + 1)] + [
        (f"{prefix}-V{n:0{width}d}", "venue") for n in range(1, venues + 1)
    ]


def numbered_ids(prefix: str, count: int, *, width: int = 6) -> list[str]:
    """``<prefix>-000001``.. for large synthetic fleets."""
    width = max(width, len(str(count)))
    return [f"{prefix}-{n:0{width}d}" for n in range(1, count + 1)]


def build_fleet(
    ids: Sequence[tuple[str, SiteKind] | str],
    *,
    topic_prefix: str,
    ts_format: TsFormat | Literal["mixed"] = "mixed",
    seed: int = 0,
) -> list[Detector]:
    """Detectors for ``ids``; ``mixed`` gives devices the four ts styles in turn."""
    fleet = []
    for index, item in enumerate(ids):
        kind: SiteKind = "device"
        if isinstance(item, str):
            device_id = item
        else:
            device_id, kind = item
        fmt = _TS_MIX[index % len(_TS_MIX)] if ts_format == "mixed" else TsFormat(ts_format)
        fleet.append(Detector(device_id, topic_prefix, site_kind=kind, ts_format=fmt, seed=seed))
    return fleet
