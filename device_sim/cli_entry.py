"""What ``smokewatch sim`` runs, without click: options dataclasses and entry functions.

smokewatch/cli.py maps its options onto :class:`SimOptions` or :class:`LoadOptions` and calls
:func:`run` or :func:`run_load`; tests and benchmarks call the same functions.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TextIO

import orjson

from core.db import connect, wait_for_database
from device_sim.commands import NativeResponder
from device_sim.detector import Detector, SiteKind, build_fleet, numbered_ids, programme_ids
from device_sim.errors import SimConfigError
from device_sim.load import LoadOptions, LoadReport
from device_sim.load import run_load as _run_load
from device_sim.protocol import TsFormat
from device_sim.registration import register_devices, register_programme
from device_sim.runner import SimReport, Simulation, Stamp
from device_sim.scenarios import SCENARIOS
from device_sim.settings import SimSettings
from device_sim.sinks import MemorySink, PerDeviceSink, SharedSink, Sink

log = logging.getLogger(__name__)

_SPEC = re.compile(r"^(?P<name>[a-z_]+)(?::(?P<count>\d+))?(?:@(?P<at>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class ScenarioSpec:
    """``name[:count][@at]``: run scenario ``name`` on ``count`` devices from ``at`` sim-seconds."""

    name: str
    count: int = 1
    at: float | None = None

    @classmethod
    def parse(cls, text: str) -> ScenarioSpec:
        match = _SPEC.match(text.strip())
        if not match or match["name"] not in SCENARIOS:
            known = ", ".join(SCENARIOS)
            raise SimConfigError(
                f"bad scenario {text!r}: use name[:count][@seconds], name one of {known}"
            )
        at = float(match["at"]) if match["at"] else None
        return cls(match["name"], int(match["count"] or 1), at)


@dataclass(frozen=True)
class SimOptions:
    """One ``smokewatch sim`` run. ``None`` means "the setting's value" (SimSettings)."""

    households: int | None = None
    venues: int | None = None
    id_prefix: str | None = None
    devices: int | None = None  # a numbered fleet <prefix>-000001.. instead of the programme's
    heartbeat_seconds: float | None = None  # simulated seconds between reports; 0: none
    time_scale: float | None = None
    duration: float | None = 60.0  # wall-clock seconds
    max_messages: int | None = None
    sim_seconds: float | None = None  # simulated seconds
    scenarios: tuple[str, ...] = ()
    connections: Literal["shared", "per_device"] | None = None
    ts_format: Literal["mixed", "iso", "iso_cst", "epoch_ms", "epoch_s", "none"] = "mixed"
    stamp: Stamp = "wall"
    realtime: bool = True  # False: virtual time, as fast as the broker acknowledges
    start: datetime | None = None  # simulated start (with stamp="sim")
    stagger: bool = True  # spread first reports over a heartbeat period
    announce: bool = False  # shared connection: publish a retained "online" per device first
    retain_status: bool = True
    register: bool = False  # register the fleet in the database first
    dry_run: bool = False  # print JSON lines instead of publishing (implies virtual time)
    record: bool = False  # keep every message in the report
    obey_commands: bool = True  # answer <prefix>/<id>/downlink (device_sim/commands.py)
    seed: int | None = None
    scenario_specs: tuple[ScenarioSpec, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        specs = tuple(ScenarioSpec.parse(s) for s in self.scenarios)
        object.__setattr__(self, "scenario_specs", specs)


def make_fleet(settings: SimSettings, options: SimOptions) -> list[Detector]:
    """The detectors this run simulates."""
    prefix = options.id_prefix or settings.sim_id_prefix
    seed = settings.sim_seed if options.seed is None else options.seed
    ids: Sequence[tuple[str, SiteKind] | str]
    if options.devices is not None:
        ids = numbered_ids(prefix, options.devices)
    else:
        households = settings.sim_households if options.households is None else options.households
        venues = settings.sim_venues if options.venues is None else options.venues
        ids = programme_ids(prefix, households, venues)
    fmt: TsFormat | Literal["mixed"] = (
        "mixed" if options.ts_format == "mixed" else TsFormat(options.ts_format)
    )
    return build_fleet(ids, topic_prefix=settings.topic_prefix, ts_format=fmt, seed=seed)


def schedule_scenarios(
    sim: Simulation, fleet: Sequence[Detector], specs: Sequence[ScenarioSpec], seed: int
) -> list[tuple[str, str, float]]:
    """Give each scenario instance its own device (seeded choice); return (scenario, device, at)."""
    if not fleet:
        return []
    order = list(fleet)
    random.Random(seed).shuffle(order)
    plan = []
    k = 0
    for spec in specs:
        for _ in range(spec.count):
            det = order[k % len(order)]
            at = spec.at if spec.at is not None else 10.0 * (k + 1)
            sim.schedule(det, SCENARIOS[spec.name](), at=at)
            plan.append((spec.name, det.device_id, at))
            k += 1
    return plan


def run(settings: SimSettings, options: SimOptions, *, out: TextIO | None = None) -> SimReport:
    """Simulate the fleet and its scenarios; return exact published/acked counts."""
    fleet = make_fleet(settings, options)
    seed = settings.sim_seed if options.seed is None else options.seed
    if options.register and not options.dry_run:
        wait_for_database(settings.database_url)
        with connect(settings.database_url, autocommit=True) as conn:
            result = register_programme(conn, fleet)
        log.info("registered %d new devices (%d sites)", result.devices_added, result.sites)
    sink = _make_sink(settings, options, fleet)
    responder = None
    if options.obey_commands and not options.dry_run:
        responder = NativeResponder(settings.mqtt, settings.topic_prefix, fleet)
        responder.start()
    try:
        sim = Simulation(
            fleet,
            sink,
            heartbeat_seconds=_pick(options.heartbeat_seconds, settings.sim_heartbeat_seconds),
            time_scale=_pick(options.time_scale, settings.sim_time_scale),
            realtime=options.realtime and not options.dry_run,
            stamp=options.stamp,
            start=options.start,
            stagger=options.stagger,
            announce=options.announce
            and (options.connections or settings.sim_connections) == "shared",
            record=options.record,
        )
        for name, device_id, at in schedule_scenarios(sim, fleet, options.scenario_specs, seed):
            log.info("scenario %s on %s at %.0fs", name, device_id, at)
        report = sim.run(
            max_messages=options.max_messages,
            duration=options.duration,
            sim_seconds=options.sim_seconds,
            ack_timeout=settings.sim_ack_timeout_seconds,
        )
    finally:
        sink.close()
        if responder is not None:
            responder.stop()
    if options.dry_run and out is not None and isinstance(sink, MemorySink):
        for message in sink.messages:
            out.write(_json_line(message.topic, message.payload, message.retain) + "\n")
    return report


def _make_sink(settings: SimSettings, options: SimOptions, fleet: list[Detector]) -> Sink:
    if options.dry_run:
        return MemorySink()
    if (options.connections or settings.sim_connections) == "per_device":
        return PerDeviceSink(
            settings.mqtt,
            fleet,
            client_id_prefix=settings.sim_client_id,
            window=min(settings.sim_max_inflight, 100),
            ack_timeout=settings.sim_ack_timeout_seconds,
            retain_status=options.retain_status,
        )
    return SharedSink(
        settings.mqtt,
        client_id=f"{settings.sim_client_id}-{random.randrange(16**6):06x}",
        window=settings.sim_max_inflight,
        ack_timeout=settings.sim_ack_timeout_seconds,
    )


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _json_line(topic: str, payload: bytes, retain: bool) -> str:
    try:
        text: object = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = {"hex": payload.hex()}
    return orjson.dumps({"topic": topic, "retain": retain, "payload": text}).decode()


def run_load(settings: SimSettings, options: LoadOptions, *, register: bool = False) -> LoadReport:
    """The multi-process load mode (benchmarks); optionally registers its devices first."""
    options.validate()
    if register:
        wait_for_database(settings.database_url)
        with connect(settings.database_url, autocommit=True) as conn:
            added = register_devices(conn, options.device_ids())
        log.info("registered %d new load devices", added)
    return _run_load(options, mqtt_url=settings.mqtt_url, topic_prefix=settings.topic_prefix)


def summarize(report: SimReport | LoadReport) -> str:
    """A few lines for the terminal."""
    if isinstance(report, LoadReport):
        lines = [
            f"published {report.published}, acked {report.acked}, rejected {report.rejected}, "
            f"{report.publish_rate:.0f} msg/s over {len(report.processes)} processes"
        ]
        lines += [
            f"  process {p.index}: {p.published} published, {p.acked} acked, "
            f"{p.publish_seconds:.1f}s, {len(p.marked)} marked alarms"
            + (f", error: {p.error}" if p.error else "")
            for p in report.processes
        ]
        return "\n".join(lines)
    return "\n".join(
        [
            f"sent {report.sent} ({dict(report.by_kind)}), published {report.published}, "
            f"acked {report.acked}, rejected {report.rejected}, stopped by {report.stopped_by} "
            f"after {report.elapsed:.1f}s",
            f"  events {dict(report.by_event)}",
            f"  expected at the receiver {dict(report.expected)}; wills {report.wills}",
        ]
    )
